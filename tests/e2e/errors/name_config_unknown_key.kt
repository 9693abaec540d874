config = {
    max_strlen = 64;
    max_map_key = 100
}
begin { @x[1] = 1; }
