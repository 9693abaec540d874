begin { @m[1] = 1; }
let @m = hash(4);
