OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg c[5];
u3(0.1,0.2,0.3) q[0]; u2(0.1,0.2) q[0]; u1(0.3) q[0]; cx q[0],q[1]; id q[0]; u0(1) q[0]; u(1,2,3) q[0]; p(0.5) q[0];
x q; y q; z q; h q; s q; sdg q; t q; tdg q; rx(pi) q; ry(pi/2) q; rz(-pi/4) q; sx q; sxdg q;
cz q[0],q[1]; cy q[1],q[2]; swap q[2],q[3]; ch q[3],q[4]; ccx q[0],q[1],q[2]; cswap q[0],q[1],q[2];
crx(1) q[0],q[1]; cry(1) q[0],q[1]; crz(1) q[0],q[1]; cu1(1) q[0],q[1]; cp(1) q[0],q[1]; cu3(1,2,3) q[0],q[1]; csx q[0],q[1]; cu(1,2,3,4) q[0],q[1];
rxx(1) q[0],q[1]; rzz(1) q[0],q[1]; rccx q[0],q[1],q[2]; rc3x q[0],q[1],q[2],q[3]; c3x q[0],q[1],q[2],q[3]; c3sqrtx q[0],q[1],q[2],q[3]; c4x q[0],q[1],q[2],q[3],q[4];
