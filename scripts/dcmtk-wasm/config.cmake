# scripts/dcmtk-wasm/config.cmake — DCMTK's generated headers (osconfig.h, arith.h) for wasm32,
# from Debian's native ones (libdcmtk-dev, x86_64): the differences are the built-in dictionary,
# no threads or optional libraries, and the sizes of long and pointers.
set(native /usr/include/dcmtk/config)
if(NOT EXISTS ${native}/osconfig.h OR NOT EXISTS ${native}/arith.h)
  message(FATAL_ERROR "Debian's DCMTK headers are missing: install libdcmtk-dev (scripts/setup does)")
endif()
file(READ ${native}/osconfig.h os)
function(define_as name value)  # "#define NAME ..." or "/* #undef NAME */" -> "#define NAME value"
  string(REGEX REPLACE "#define ${name} [^\n]*" "#define ${name} ${value}" os "${os}")
  set(os "${os}" PARENT_SCOPE)
endfunction()
function(undefine name)
  string(REGEX REPLACE "#define ${name}( [^\n]*)?\n" "/* #undef ${name} (wasm) */\n" os "${os}")
  set(os "${os}" PARENT_SCOPE)
endfunction()
define_as(DCM_DICT_DEFAULT 1)            # the built-in dictionary: a browser has no dictionary files
define_as(DCM_DICT_DEFAULT_PATH "\"\"")
define_as(DCMTK_PREFIX "\"\"")
define_as(SIZEOF_LONG 4)
define_as(SIZEOF_VOID_P 4)
define_as(DCMTK_ENABLE_LFS DCMTK_LFS)
foreach(name DCM_DICT_USE_DCMDICTPATH WITH_THREADS HAVE_PTHREAD_H HAVE_PTHREAD_RWLOCK WITH_ZLIB WITH_OPENSSL
        WITH_LIBPNG WITH_LIBTIFF WITH_LIBXML WITH_STDLIBC_ICONV DCMTK_ENABLE_CHARSET_CONVERSION
        DCMTK_STDLIBC_ICONV_HAS_DEFAULT_ENCODING WITH_TCPWRAPPER WITH_SNDFILE HAVE_ICONV_H
        HAVE_CHARP_STRERROR_R)  # musl has the X/Open strerror_r
  undefine(${name})
endforeach()
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/include/dcmtk/config/osconfig.h "${os}")

file(READ ${native}/arith.h arith)
string(REPLACE "DCMTK_SIGNED_LONG_DIGITS10 18" "DCMTK_SIGNED_LONG_DIGITS10 9" arith "${arith}")
string(REPLACE "DCMTK_UNSIGNED_LONG_DIGITS10 19" "DCMTK_UNSIGNED_LONG_DIGITS10 9" arith "${arith}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/include/dcmtk/config/arith.h "${arith}")
