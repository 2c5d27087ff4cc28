# Corpus: the first-order wave system u_t = v, v_t = lap u in 1D, classical RK4,
# periodic grid.
# Ground truth: eigenvalues ±i·2/h·sin(θ/2); RK4 holds [−2√2 i, 2√2 i]: stable iff tau <= sqrt(2) h.
const tau = 0.5
const h = 1
const steps = 10

pde wave_system {
    state u[1]
    state v[1]
    grid  h : periodic
    dt(u) = v
    dt(v) = lap u
}

network wave_system_rk4_1d {
    input  signal(2, 64)
    wave_system by rk4(tau = tau, steps = steps)
    output identity
}
