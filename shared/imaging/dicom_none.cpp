// shared/imaging/dicom_none.cpp — dicom.h for a build without DCMTK (the browser's core, until
// DCMTK is compiled to wasm): DICOM files are refused with the reason, PNG and JPEG still work.
#include "imaging/dicom.h"

namespace ldx {

bool dicom_available() { return false; }

Result<Pixels> dicom_decode(std::string_view, int) {
    return problem("unsupported_dicom", "DICOM files cannot be opened here yet: export the image as PNG.");
}

}  // namespace ldx
