// The system zlib (Debian: zlib1g-dev; macOS: part of the SDK), for Strata's payload compression.
#include <zlib.h>
