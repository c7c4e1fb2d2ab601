"""Everything that draws: the house style, slider frames, the live/static slider widgets and
the pictures of races, schedules and range tests. Computation elsewhere never imports this."""
