"""What the tests share: the test backend's token and bodies, a hand-moved clock, file
observations, the two lookups, worker processes, and a real redis-server."""
