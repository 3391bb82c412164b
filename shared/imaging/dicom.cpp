// shared/imaging/dicom.cpp — see dicom.h.
//
// Index of this file
//   [SECTION] DCMTK set-up (decoders registered once, its log silenced)
//   [SECTION] A stream over the file's bytes
//   [SECTION] Reading the file
//   [SECTION] Samples to pixels
//   [SECTION] Entry point
#include "imaging/dicom.h"

#include <algorithm>
#include <cstring>
#include <string>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcistrma.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

namespace ldx {

namespace {
//-----------------------------------------------------------------------------
// [SECTION] DCMTK set-up
//-----------------------------------------------------------------------------
// DCMTK keeps its codecs in a process-wide registry: they are registered once, on first use,
// and never changed afterwards.
struct Codecs {
    Codecs() {
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        DcmRLEDecoderRegistration::registerCodecs();
        DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation);
        DJLSDecoderRegistration::registerCodecs();
    }
};
void ensure_codecs() { static const Codecs codecs; }

Problem bad(const std::string& why) { return problem("bad_dicom", "This DICOM file cannot be read: " + why + "."); }
Problem unsupported(const std::string& why) {
    return problem("unsupported_dicom", "This DICOM image cannot be used here: " + why + ".");
}

std::string text_of(DcmDataset& ds, const DcmTagKey& key) {
    OFString s;
    if (ds.findAndGetOFString(key, s).good()) return std::string(s.c_str());
    return {};
}

//-----------------------------------------------------------------------------
// [SECTION] A stream over the file's bytes
//-----------------------------------------------------------------------------
// DCMTK reads a large element's value only when it is used, through a factory that can reopen
// the stream at the value; its own buffer stream has no such factory, so every value was
// allocated at its declared length first: a 100-byte file could ask for 4 GiB. Over these bytes
// a value longer than what remains is refused before anything is allocated for it, as DCMTK
// does for files. (DCMTK's stream interfaces take ownership of raw pointers.)
class BytesProducer : public DcmProducer {
public:
    BytesProducer(std::string_view bytes, size_t at) : bytes_(bytes), at_(std::min(at, bytes.size())) {}
    OFBool good() const override { return OFTrue; }
    OFCondition status() const override { return EC_Normal; }
    OFBool eos() override { return at_ >= bytes_.size(); }
    offile_off_t avail() override { return static_cast<offile_off_t>(bytes_.size() - at_); }
    offile_off_t read(void* buf, offile_off_t want) override {
        const size_t n = std::min(static_cast<size_t>(want), bytes_.size() - at_);
        std::memcpy(buf, bytes_.data() + at_, n);
        at_ += n;
        return static_cast<offile_off_t>(n);
    }
    offile_off_t skip(offile_off_t want) override {
        const size_t n = std::min(static_cast<size_t>(want), bytes_.size() - at_);
        at_ += n;
        return static_cast<offile_off_t>(n);
    }
    void putback(offile_off_t back) override { at_ -= std::min(static_cast<size_t>(back), at_); }

private:
    std::string_view bytes_;
    size_t at_;
};

class BytesStream : public DcmInputStream {
public:
    BytesStream(std::string_view bytes, size_t at)
        : DcmInputStream(&producer_), bytes_(bytes), at_(at), producer_(bytes, at) {}
    DcmInputStreamFactory* newFactory() const override;

private:
    std::string_view bytes_;
    size_t at_;
    BytesProducer producer_;
};

class BytesStreamFactory : public DcmInputStreamFactory {
public:
    BytesStreamFactory(std::string_view bytes, size_t at) : bytes_(bytes), at_(at) {}
    DcmInputStream* create() const override { return new BytesStream(bytes_, at_); }
    DcmInputStreamFactory* clone() const override { return new BytesStreamFactory(bytes_, at_); }
    DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

private:
    std::string_view bytes_;
    size_t at_;
};

DcmInputStreamFactory* BytesStream::newFactory() const {
    // Not once a deflate filter is installed: positions then count inflated bytes.
    if (currentProducer() != &producer_) return nullptr;
    return new BytesStreamFactory(bytes_, at_ + static_cast<size_t>(tell()));
}

//-----------------------------------------------------------------------------
// [SECTION] Reading the file
//-----------------------------------------------------------------------------
Result<Ok> read_file(std::string_view bytes, DcmFileFormat& file) {
    if (bytes.size() < 8) return bad("it is too short to be a DICOM file");
    BytesStream stream(bytes, 0);
    file.transferInit();
    const OFCondition read = file.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    file.transferEnd();
#ifndef WITH_ZLIB
    // Without zlib (the browser's DCMTK), a deflated file stops here: say that, not "damaged".
    if (read.bad() && file.getMetaInfo()) {
        OFString uid;
        if (file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, uid).good() &&
            DcmXfer(uid.c_str()).getXfer() == EXS_DeflatedLittleEndianExplicit)
            return unsupported(
                "it is a deflated DICOM file, which the browser does not read: open it with `localdx "
                "preprocess`, or save it uncompressed");
    }
#endif
    if (read.bad()) return bad(std::string("the file is damaged or ends early (") + read.text() + ")");
    return Ok{};
}

// Decompresses the pixel data in place; names the transfer syntax it cannot decode.
Result<Ok> decompress(DcmDataset& ds) {
    const DcmXfer original(ds.getOriginalXfer());
    if (!original.isEncapsulated()) return Ok{};
    const std::string name = original.getXferName();
    if (original.getXfer() == EXS_JPEG2000LosslessOnly || original.getXfer() == EXS_JPEG2000 ||
        original.getXfer() == EXS_JPEG2000MulticomponentLosslessOnly ||
        original.getXfer() == EXS_JPEG2000Multicomponent)
        return unsupported("its pixels are compressed as JPEG 2000 (" + name + "), which this device does not decode");
    if (ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit))
        return unsupported("its pixels are compressed as " + name +
                           ", which this device does not decode, or are damaged");
    return Ok{};
}

//-----------------------------------------------------------------------------
// [SECTION] Samples to pixels
//-----------------------------------------------------------------------------
struct Layout {
    Uint16 rows = 0, columns = 0, samples = 1, allocated = 0, stored = 0, high = 0, signed_ = 0, planar = 0;
    long frames = 1;
    std::string photometric;
};

Result<Layout> read_layout(DcmDataset& ds) {
    Layout l;
    if (ds.findAndGetUint16(DCM_Rows, l.rows).bad() || ds.findAndGetUint16(DCM_Columns, l.columns).bad())
        return bad("it has no image size (Rows, Columns): it may not be an image");
    if (ds.findAndGetUint16(DCM_BitsAllocated, l.allocated).bad())
        return bad("it does not say how its pixels are stored (Bits Allocated)");
    if (ds.findAndGetUint16(DCM_BitsStored, l.stored).bad()) l.stored = l.allocated;
    if (ds.findAndGetUint16(DCM_HighBit, l.high).bad()) l.high = static_cast<Uint16>(l.stored - 1);
    (void)ds.findAndGetUint16(DCM_SamplesPerPixel, l.samples);
    (void)ds.findAndGetUint16(DCM_PixelRepresentation, l.signed_);
    (void)ds.findAndGetUint16(DCM_PlanarConfiguration, l.planar);
    Sint32 frames = 1;
    if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 0) l.frames = frames;
    l.photometric = text_of(ds, DCM_PhotometricInterpretation);
    if (l.rows == 0 || l.columns == 0) return bad("its image size is zero");
    if (l.allocated != 8 && l.allocated != 16)
        return unsupported("its pixels use " + std::to_string(l.allocated) + " bits; 8 or 16 are read");
    if (l.stored == 0 || l.stored > l.allocated || l.high != l.stored - 1)
        return unsupported("its pixels' bit layout (Bits Stored " + std::to_string(l.stored) + ", High Bit " +
                           std::to_string(l.high) + ") is not one this device reads");
    const bool grey = l.photometric == "MONOCHROME1" || l.photometric == "MONOCHROME2";
    const bool colour = l.photometric == "RGB" || l.photometric == "YBR_FULL";
    if (!(grey && l.samples == 1) && !(colour && l.samples == 3))
        return unsupported("its colour form (" + (l.photometric.empty() ? std::string("none given") : l.photometric) +
                           ", " + std::to_string(l.samples) + " samples) is not one this device reads");
    return l;
}

// The stored value of a sample: Bits Stored wide, sign-extended when Pixel Representation is 1.
float sample_value(uint32_t raw, const Layout& l) {
    const uint32_t mask = l.stored >= 32 ? 0xffffffffu : ((1u << l.stored) - 1);
    uint32_t v = raw & mask;
    if (l.signed_ && (v >> (l.stored - 1)) & 1u)
        return static_cast<float>(static_cast<int64_t>(v) - (int64_t{1} << l.stored));
    return static_cast<float>(v);
}

Result<Pixels> frame_pixels(DcmDataset& ds, const Layout& l, int frame) {
    if (frame < 0 || frame >= l.frames)
        return unsupported("it has " + std::to_string(l.frames) + " frame(s); frame " + std::to_string(frame + 1) +
                           " was asked for");
    const size_t per_frame = size_t{l.rows} * l.columns * l.samples;
    const size_t need = per_frame * static_cast<size_t>(l.frames);
    Pixels p;
    p.width = l.columns;
    p.height = l.rows;
    p.channels = l.samples;
    p.frames = static_cast<int>(l.frames);
    p.values.resize(per_frame);
    const size_t plane = size_t{l.rows} * l.columns;
    // Sample s of pixel i sits at i * samples + s (interleaved), or s * plane + i (Planar Configuration 1).
    auto place = [&](size_t k) {
        if (l.samples == 1 || l.planar == 0) return k;
        return (k % plane) * l.samples + k / plane;
    };
    const size_t first = per_frame * static_cast<size_t>(frame);
    if (l.allocated == 8) {
        const Uint8* data = nullptr;
        unsigned long count = 0;
        if (ds.findAndGetUint8Array(DCM_PixelData, data, &count).bad() || !data) return bad("it has no pixel data");
        if (count < need) return bad("its pixel data is shorter than its size says (the file may be truncated)");
        for (size_t k = 0; k < per_frame; ++k) p.values[place(k)] = sample_value(data[first + k], l);
    } else {
        const Uint16* data = nullptr;
        unsigned long count = 0;
        if (ds.findAndGetUint16Array(DCM_PixelData, data, &count).bad() || !data) return bad("it has no pixel data");
        if (count < need) return bad("its pixel data is shorter than its size says (the file may be truncated)");
        for (size_t k = 0; k < per_frame; ++k) p.values[place(k)] = sample_value(data[first + k], l);
    }
    if (l.photometric == "YBR_FULL") {  // DICOM PS3.3 C.7.6.3.1.2, full range
        const double half = l.allocated == 8 ? 128.0 : 32768.0;
        for (size_t i = 0; i < plane; ++i) {
            float* px = p.values.data() + 3 * i;
            const double y = px[0], cb = px[1] - half, cr = px[2] - half;
            px[0] = static_cast<float>(y + 1.402 * cr);
            px[1] = static_cast<float>(y - 0.344136 * cb - 0.714136 * cr);
            px[2] = static_cast<float>(y + 1.772 * cb);
        }
    }
    p.monochrome1 = l.photometric == "MONOCHROME1";
    return p;
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Entry point
//-----------------------------------------------------------------------------
bool dicom_available() { return true; }

Result<Pixels> dicom_decode(std::string_view bytes, int frame) {
    ensure_codecs();
    DcmFileFormat file;
    if (auto r = read_file(bytes, file); !r) return r.problems();
    DcmDataset& ds = *file.getDataset();
    if (!ds.tagExists(DCM_PixelData)) return bad("it holds no image (no Pixel Data): it may be a report or a plan");
    if (auto r = decompress(ds); !r) return r.problems();
    auto layout = read_layout(ds);
    if (!layout) return layout.problems();
    auto p = frame_pixels(ds, *layout, frame);
    if (!p) return p.problems();
    Float64 v = 0;
    if (ds.findAndGetFloat64(DCM_RescaleSlope, v).good()) p->slope = v;
    if (ds.findAndGetFloat64(DCM_RescaleIntercept, v).good()) p->intercept = v;
    Float64 center = 0, width = 0;
    if (ds.findAndGetFloat64(DCM_WindowCenter, center, 0).good() &&
        ds.findAndGetFloat64(DCM_WindowWidth, width, 0).good() && width > 0)
        p->window = std::array<double, 2>{center, width};
    p->modality = text_of(ds, DCM_Modality);
    p->body_part = text_of(ds, DCM_BodyPartExamined);
    p->view = text_of(ds, DCM_ViewPosition);
    return p;
}

}  // namespace ldx
