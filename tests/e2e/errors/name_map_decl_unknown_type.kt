let @m = percpulruhsh(16);
begin { @m[1] = count(); }
