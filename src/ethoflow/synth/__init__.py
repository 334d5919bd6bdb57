"""A synthetic lab: top-view mouse recordings with per-frame labels and ground-truth centres.

Four recording conditions mirror the lab's cameras (frame rate, frame size, arena shape and
placement, clutter, lighting, label format, lens and compression), and a fifth is held out of
training. A mouse walks along the walls and across the open field, pauses to sniff, rests, grooms
and rears (unsupported in the open, supported against a wall). Resting and grooming share one
hunched silhouette: grooming differs only by its strokes, head and forepaws moving while the body
stays still (paw licking, face washing, body licking, in the grooming chain's order), which is
what makes grooming hard to see on real mice. A mouse's coat (hair and shading) is fixed to its
body, so turning and walking change the pixels inside it, as on real fur. Every recording of
20 s or more shows both behaviours. Everything is drawn from seeded generators per video, so the
same seed gives the same bytes and the truth (centre, behaviour, activity) is exact.

The real-like conditions add what makes real footage hard to track: inner wall faces seen in
perspective, round arenas in a dark ring, dark surrounds, the mouse's shadow and its reflection on
the walls, long sits in corners, bedding under infrared light. Their looks draw from a second
generator seeded from the video seed, so they never change the walk.
"""
