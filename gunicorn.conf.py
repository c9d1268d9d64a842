"""Gunicorn settings, read from the working directory by `gunicorn -w N app:server`.

A run comparison's address lists every run id (/compare?runs=…, 37 characters a run) and the issue allows any
number of runs, so the request line may be far longer than gunicorn's default 4094 bytes: 0 lifts that limit
(headers keep gunicorn's own limits)."""
limit_request_line = 0

# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections over the workers;
# on one shared socket the first worker to wake accepts a burst of keep-alive clients (8 ingest threads all landed
# on one of two workers) and keeps them while the other idles.
reuse_port = True
