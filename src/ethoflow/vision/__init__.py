"""Where the mouse is: frames on the models' clock, the arena, the tracker, whether its track is a
mouse, crops around it, distance travelled and open-field measures (``ethoflow track``)."""
