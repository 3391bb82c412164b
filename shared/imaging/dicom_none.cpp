// shared/imaging/dicom_none.cpp — dicom.h without DCMTK, for the page's own module (wasm/app):
// the page never decodes images (the batch worker's core does, with DCMTK), so its module leaves
// DCMTK's 2 MB out and refuses DICOM with the reason, should it ever be asked.
#include "imaging/dicom.h"

namespace ldx {

bool dicom_available() { return false; }

Result<Pixels> dicom_decode(std::string_view, int) {
    return problem("unsupported_dicom", "DICOM files are read by the page's worker, not by this module.");
}

}  // namespace ldx
