"""Running the daemon on a box: the timer service, sd_notify and the watchdog, retention, Prometheus metrics
and the diagnostics bundle."""
