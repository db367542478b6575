// Debian's libsrtp2: only the test oracle that Parley's own SRTP is checked against.
#include <srtp2/srtp.h>
