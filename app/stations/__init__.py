"""The comprehensive windows (综合窗口) of the police stations: the registry of stations, their slots, and
citizens' appointments at them."""
