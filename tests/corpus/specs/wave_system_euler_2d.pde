# Corpus: the first-order wave system u_t = v, v_t = lap u in 2D, forward Euler,
# periodic grid. Ground truth: the eigenvalues 1 +- i tau sqrt(-symbol) lie outside the
# unit circle for every tau > 0: unstable for every tau > 0.
const tau = 0.1
const h = 1
const steps = 10

pde wave_system {
    state u[1]
    state v[1]
    grid  h : periodic
    dt(u) = v
    dt(v) = lap u
}

network wave_system_euler_2d {
    input  image(2, 16, 16)
    wave_system by euler(tau = tau, steps = steps)
    output identity
}
