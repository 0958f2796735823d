OPENQASM 3.0;
qubit[1] q;
#pragma braket verbatim
box { delay[100ns] $0; }
