// shared/imaging/dicom.h — one frame of a DICOM file as pixels, through DCMTK and OpenJPEG.
//
// DCMTK (Debian's dcmtk 3.6.7: natively its packaged libraries) reads the file and decodes its
// pixel data. Transfer syntaxes: implicit and explicit VR little endian, explicit VR big endian,
// deflated, RLE lossless, JPEG baseline, extended (12-bit) and lossless, JPEG-LS, and JPEG 2000
// (lossless and lossy), whose frames OpenJPEG 2.5 decodes (DCMTK has no free JPEG 2000 codec).
// Photometric interpretations: MONOCHROME1, MONOCHROME2, RGB, YBR_FULL (converted to RGB), the YBR
// forms of JPEG and JPEG 2000 (which their decoders give as RGB). 1-, 8-, 16- and 32-bit samples,
// signed or not, every value exactly (imaging/image_input.h, Pixels); the modality rescale and
// the first VOI window are read, never applied here (imaging/preprocess.h applies them).
//
// Of the header, only what a clinician needs is kept (modality, body part, view): nothing that
// names, dates or identifies the patient leaves this function.
//
// A library of its own (localdx_dicom): the core does not call it, each program hands
// dicom_decode to the core as its DicomDecoder (imaging/image_input.h).
#pragma once
#include <string_view>

#include "base/error.h"
#include "imaging/image_input.h"

namespace ldx {

// Decodes frame `frame` (0-based) of the DICOM file in `bytes`. Every refusal is a Problem with
// code "bad_dicom" or "unsupported_dicom" and a sentence that says what is wrong with the file.
Result<Pixels> dicom_decode(std::string_view bytes, int frame = 0);

}  // namespace ldx
