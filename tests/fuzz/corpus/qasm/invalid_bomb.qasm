OPENQASM 2.0;
gate a x { U(0,0,0) x; U(0,0,0) x; }
gate b x { a x; a x; a x; a x; }
gate c x { b x; b x; b x; b x; }
gate d x { c x; c x; c x; c x; }
gate e x { d x; d x; d x; d x; }
gate f x { e x; e x; e x; e x; }
gate g x { f x; f x; f x; f x; }
gate h x { g x; g x; g x; g x; }
gate i x { h x; h x; h x; h x; }
gate j x { i x; i x; i x; i x; }
gate k x { j x; j x; j x; j x; }
gate l x { k x; k x; k x; k x; }
gate m x { l x; l x; l x; l x; }
gate n x { m x; m x; m x; m x; }
gate o x { n x; n x; n x; n x; }
qreg q[1];
o q;
