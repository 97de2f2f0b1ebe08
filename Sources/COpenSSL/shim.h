// OpenSSL 3 libcrypto (libssl-dev): the EVP digest API for SHA-256.
// libssl (TLS) will be added here with `link "ssl"` when migration needs it.
#include <openssl/evp.h>
#include <openssl/crypto.h>
