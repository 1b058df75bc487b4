NAME figure1 FREE
* written by robustc (free MPS)
* figure 1 network; x* = (0.6, 0.3); predicted 0; target 1
* form reduced; margin alpha 0; input box [0, 1] pixels = [0, 1] model units
* objective t = ||x - x*||_inf in model units; rho_hat in pixels = t * 1 (pixel scale). The optimum is an UPPER bound on rho:
* the LP is the convex restriction of C_f(x, l) to the linear region Z(x*) of x* (Bastani et al. 2016, section 4).
* conventions: a ReLU whose pre-activation at x* is exactly 0 is inactive (u <= 0, v = 0); a max-pool window with tied maxima
* keeps its first maximal element in row-major order; the trace at x* is computed in float64.
* 3 columns, 13 rows, 26 nonzeros
ROWS
 N obj
* block relu_relu1_phase: 8 rows
 G relu_relu1_phase_0
 L relu_relu1_phase_1
 L relu_relu1_phase_2
 G relu_relu1_phase_3
 G relu_relu1_phase_4
 L relu_relu1_phase_5
 L relu_relu1_phase_6
 G relu_relu1_phase_7
* block out_y1: 1 rows
 G out_y1_0
* block linf_lo: 2 rows
 G linf_lo_0
 G linf_lo_1
* block linf_hi: 2 rows
 L linf_hi_0
 L linf_hi_1
COLUMNS
 x_0 relu_relu1_phase_0 1
 x_0 relu_relu1_phase_1 -1
 x_0 relu_relu1_phase_2 0.5
 x_0 relu_relu1_phase_3 2
 x_0 relu_relu1_phase_4 -0.25
 x_0 relu_relu1_phase_5 1
 x_0 relu_relu1_phase_6 -1
 x_0 relu_relu1_phase_7 0.75
 x_0 out_y1_0 -0.375
 x_0 linf_lo_0 1
 x_0 linf_hi_0 1
 x_1 relu_relu1_phase_0 -1
 x_1 relu_relu1_phase_1 1
 x_1 relu_relu1_phase_2 0.5
 x_1 relu_relu1_phase_3 -0.5
 x_1 relu_relu1_phase_4 1.5
 x_1 relu_relu1_phase_5 1
 x_1 relu_relu1_phase_6 -1
 x_1 relu_relu1_phase_7 -2
 x_1 out_y1_0 0.125
 x_1 linf_lo_1 1
 x_1 linf_hi_1 1
 t obj 1
 t linf_lo_0 1
 t linf_lo_1 1
 t linf_hi_0 -1
 t linf_hi_1 -1
RHS
 RHS relu_relu1_phase_1 -0.10000000149011612
 RHS relu_relu1_phase_2 0.5
 RHS relu_relu1_phase_3 -0.25
 RHS relu_relu1_phase_4 0.10000000149011612
 RHS relu_relu1_phase_5 1
 RHS relu_relu1_phase_6 -0.5
 RHS relu_relu1_phase_7 -0.20000000298023224
 RHS out_y1_0 -0.11250000074505806
 RHS linf_lo_0 0.6000000238418579
 RHS linf_lo_1 0.30000001192092896
 RHS linf_hi_0 0.6000000238418579
 RHS linf_hi_1 0.30000001192092896
BOUNDS
 UP BND x_0 1
 UP BND x_1 1
ENDATA
