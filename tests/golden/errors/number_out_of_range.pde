# Perona-Malik denoising in 1D.
# Mistake: an exponent typed with one digit too many (1e400 instead of 1e-4).
pde perona_malik {
    state u[1]
    grid  h = 1
    param lambda = 1e400 : learn, positive
    flux  phi(s) = s / (1 + s^2 / lambda^2)
    dt(u) = -dx' phi(dx u)
}

network denoiser {
    input  signal(1, 64)
    perona_malik by euler(tau = 0.25, steps = 10)
    output identity
}
