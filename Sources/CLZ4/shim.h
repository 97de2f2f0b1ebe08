// The LZ4 block API (liblz4-dev): LZ4_compress_default, LZ4_decompress_safe.
#include <lz4.h>
