#ifndef PIPELINE_SERVICE_CZLIB_SHIM_H
#define PIPELINE_SERVICE_CZLIB_SHIM_H

#include <zlib.h>

/* inflateInit2 is a macro, which Swift cannot call: this function is the same call for a gzip
   stream (a window of 15 bits, plus 16 for the gzip header and trailer). */
static inline int pipeline_service_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 16 + MAX_WBITS);
}

#endif
