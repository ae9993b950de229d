"""What the process secures at start so that pressure later cannot take it down.

- The open-file limit is raised to the hard limit (the soft default of 1,024 is what a LAN host
  exhausts with half-open connections); the connection cap is then set well below it.
- libphonenumber's metadata is loaded for every region at once: the library loads a region's
  file on first use under a lock it does not release when the load fails, so one `Too many open
  files` while an SMS from a new country arrives would freeze every later number of that country.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)

NOFILE_CEILING = 1 << 20  # RLIM_INFINITY is not a valid soft limit for descriptors


def raise_open_files_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to its hard limit; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = NOFILE_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)
    return NOFILE_CEILING if soft == resource.RLIM_INFINITY else int(soft)


def preload_phone_metadata() -> None:
    """Load every region's and calling code's metadata, and the short-number metadata, now."""
    from phonenumbers import PhoneMetadata

    PhoneMetadata.load_all()
    for region in list(getattr(PhoneMetadata, "_short_region_available", {})):
        PhoneMetadata.short_metadata_for_region(region)
