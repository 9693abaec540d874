config = { print_maps_on_exit = 2 }
begin { }
