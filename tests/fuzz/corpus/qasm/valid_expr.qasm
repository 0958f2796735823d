OPENQASM 2.0;
qreg q[1];
U(exp(1)*tan(0.3)/cos(0.2) - 2^3^0.5 + (((1))), -pi, +pi) q[0];
