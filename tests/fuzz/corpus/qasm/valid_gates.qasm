OPENQASM 2.0;
// gates built on gates
gate inner(a, b) x, y { U(a, b, a*b) x; CX x, y; barrier x, y; }
gate outer(t) x, y, z { inner(t/2, -t^2) x, y; inner(sin(t), sqrt(t)+ln(2)) z, x; }
opaque black(a) x;
qreg q[3];
qreg r[3];
qreg s[1];
creg c[3];
outer(0.5) q[0], q[1], q[2];
outer(pi) q, r, s[0];
/* broadcast */
CX q, r;
measure q -> c;
if (c == 5) U(1e-3, .5, 3.) r[1];
if (c == 0) measure r[0] -> c[2];
reset r;
barrier q, r[0];
