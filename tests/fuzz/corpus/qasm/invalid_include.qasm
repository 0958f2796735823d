OPENQASM 2.0;
include "other.inc";
