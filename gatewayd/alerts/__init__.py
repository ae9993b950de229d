"""The box speaks up: alerts (incidents opened once, reminded, resolved), their delivery by
e-mail, SMS, webhook and console, SMS forwarding by e-mail, readiness, prepaid SIM care and the
out-of-hours answer."""
