// shared/imaging/dicom.cpp — see dicom.h.
//
// Index of this file
//   [SECTION] DCMTK set-up (decoders registered once, its log silenced)
//   [SECTION] A stream over the file's bytes
//   [SECTION] Reading the file (deflated data sets inflated here)
//   [SECTION] Samples to pixels
//   [SECTION] JPEG 2000 frames (OpenJPEG)
//   [SECTION] Entry point
#include "imaging/dicom.h"
#include "imaging/raster_check.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcistrma.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <openjpeg.h>
#include <zlib.h>

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
// A deflated file (PS3.5 A.5): DCMTK reads the meta header, zlib inflates the data set after it,
// and DCMTK reads the inflated data set as explicit VR little endian. One path natively and in
// the browser (whose DCMTK is built without zlib); at most kMaxInflated bytes are inflated.
constexpr size_t kMaxInflated = size_t{256} << 20;

// The transfer syntax the meta header names and where the data set starts after it; nothing
// when the file has no readable meta header.
struct MetaHeader {
    E_TransferSyntax xfer = EXS_Unknown;
    size_t data_set_at = 0;
};
std::optional<MetaHeader> meta_header(std::string_view bytes) {
    DcmMetaInfo meta;
    BytesStream stream(bytes, 0);
    meta.transferInit();
    const OFCondition read = meta.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    meta.transferEnd();
    OFString uid;
    if (read.bad() || meta.findAndGetOFString(DCM_TransferSyntaxUID, uid).bad()) return std::nullopt;
    return MetaHeader{DcmXfer(uid.c_str()).getXfer(), static_cast<size_t>(stream.tell())};
}

// Where the data set starts, when the meta header names the deflated transfer syntax.
std::optional<size_t> deflated_at(std::string_view bytes) {
    const auto meta = meta_header(bytes);
    if (!meta || meta->xfer != EXS_DeflatedLittleEndianExplicit) return std::nullopt;
    return meta->data_set_at;
}

Result<std::string> inflate_raw(std::string_view in) {
    z_stream z{};
    if (in.size() > 0xffffffffu || inflateInit2(&z, -MAX_WBITS) != Z_OK)
        return unsupported("its deflated data set is too large to inflate here");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    std::string out;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (out.size() >= kMaxInflated) {
            inflateEnd(&z);
            return unsupported("its deflated data set inflates to more than " + std::to_string(kMaxInflated >> 20) +
                               " MB");
        }
        const size_t at = out.size();
        out.resize(std::min(kMaxInflated, std::max<size_t>(2 * at, size_t{1} << 16)));
        z.next_out = reinterpret_cast<Bytef*>(out.data() + at);
        z.avail_out = static_cast<uInt>(out.size() - at);
        rc = inflate(&z, Z_NO_FLUSH);
        out.resize(out.size() - z.avail_out);
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
        return bad(rc == Z_BUF_ERROR ? "its deflated data set ends early" : "its deflated data set is damaged");
    return out;
}

// A file whose meta header names an explicit VR little endian transfer syntax (plain or
// compressed) but whose data set is written with implicit VR (an encoder fault pydicom reads
// around): its first element has no VR where explicit VR puts one. Such a file's data set, when
// the strict read has failed, is read again as implicit VR little endian, and encapsulated pixel
// data is then taken as compressed by the meta header's transfer syntax, as pydicom does. Nothing
// else is guessed: a big-endian or deflated syntax, or a data set that is explicit, stays refused.
std::optional<MetaHeader> implicit_under_explicit(std::string_view bytes) {
    const auto meta = meta_header(bytes);
    if (!meta || meta->xfer == EXS_Unknown || meta->xfer == EXS_LittleEndianImplicit ||
        meta->xfer == EXS_DeflatedLittleEndianExplicit || meta->xfer == EXS_BigEndianExplicit ||
        meta->xfer == EXS_BigEndianImplicit || meta->data_set_at + 8 > bytes.size())
        return std::nullopt;
    const std::string_view first = bytes.substr(meta->data_set_at, 8);
    const char vr[3] = {first[4], first[5], '\0'};
    if (DcmVR(vr).isStandard()) return std::nullopt;  // explicit VR after all
    return meta;
}

Result<Ok> read_implicit_under_explicit(std::string_view bytes, const MetaHeader& meta, DcmDataset& ds) {
    BytesStream stream(bytes, meta.data_set_at);
    ds.clear();
    ds.transferInit();
    const OFCondition read = ds.read(stream, EXS_LittleEndianImplicit, EGL_noChange, DCM_MaxReadLength);
    ds.transferEnd();
    if (read.bad()) return bad(std::string("the file is damaged or ends early (") + read.text() + ")");
    DcmElement* element = nullptr;
    DcmPixelSequence* sequence = nullptr;
    if (DcmXfer(meta.xfer).isEncapsulated() && ds.findAndGetElement(DCM_PixelData, element).good() && element &&
        static_cast<DcmPixelData*>(element)
            ->getEncapsulatedRepresentation(EXS_LittleEndianImplicit, nullptr, sequence)
            .good() &&
        sequence) {
        // The fragments as the meta header's syntax compressed them (DCMTK takes the copy over).
        auto fragments = std::make_unique<DcmPixelSequence>(*sequence);
        static_cast<DcmPixelData*>(element)->putOriginalRepresentation(meta.xfer, nullptr, fragments.release());
    }
    ds.updateOriginalXfer();
    return Ok{};
}

// Reads `bytes` into `file`; a deflated data set is inflated into `inflated`, which must outlive
// `file` (DCMTK reads large values from it when they are used).
Result<Ok> read_file(std::string_view bytes, DcmFileFormat& file, std::string& inflated) {
    if (bytes.size() < 8) return bad("it is too short to be a DICOM file");
    if (const auto at = deflated_at(bytes)) {
        auto data = inflate_raw(bytes.substr(std::min(*at, bytes.size())));
        if (!data) return data.problems();
        inflated = std::move(*data);
        BytesStream stream(inflated, 0);
        DcmDataset& ds = *file.getDataset();
        ds.transferInit();
        const OFCondition read = ds.read(stream, EXS_LittleEndianExplicit, EGL_noChange, DCM_MaxReadLength);
        ds.transferEnd();
        if (read.bad()) return bad(std::string("its inflated data set is damaged or ends early (") + read.text() + ")");
        return Ok{};
    }
    BytesStream stream(bytes, 0);
    file.transferInit();
    const OFCondition read = file.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    file.transferEnd();
    if (read.bad()) {
        if (const auto meta = implicit_under_explicit(bytes))
            return read_implicit_under_explicit(bytes, *meta, *file.getDataset());
        return bad(std::string("the file is damaged or ends early (") + read.text() + ")");
    }
    return Ok{};
}

bool is_jpeg2000(E_TransferSyntax x) {
    return x == EXS_JPEG2000LosslessOnly || x == EXS_JPEG2000 || x == EXS_JPEG2000MulticomponentLosslessOnly ||
           x == EXS_JPEG2000Multicomponent;
}

// Before DCMTK's JPEG decoder sees a stream, it walks the first fragment's markers for the
// sample precision (DJCodecDecoder::scanJpegDataForBitDepth), and a TEM marker (FF 01) there
// never moves it on: the walk would spin for ever on a crafted file. The same walk, here, finds
// that marker first. True if the walk would stop (at a frame header, an unknown marker or the end).
bool jpeg_marker_walk_ends(const uint8_t* data, size_t length) {
    size_t at = 0;
    const auto word = [&](size_t i) { return static_cast<unsigned>(data[i] << 8 | data[i + 1]); };
    while (at + 4 < length) {
        const unsigned m = word(at);
        if (m == 0xff01) return false;  // TEM: the walk stays here
        if (m >= 0xffc0 && m <= 0xffcf && m != 0xffc4 && m != 0xffc8 && m != 0xffcc) return true;  // SOF
        if ((m >= 0xffd0 && m <= 0xffd9)) at += 2;                                                 // RSTn, SOI, EOI
        else if (m == 0xffff) at += 1;                                                             // fill byte
        else if (m >= 0xffc4) at += word(at + 2) + 2;                                    // a segment with its length
        else if (data[at] == 0xff && data[at + 1] > 2 && data[at + 1] <= 0xbf) at += 2;  // reserved
        else return true;                                                                // not a marker: the walk stops
    }
    return true;
}

bool is_dcmjpeg(E_TransferSyntax x) {
    return x == EXS_JPEGProcess1 || x == EXS_JPEGProcess2_4 || x == EXS_JPEGProcess3_5 || x == EXS_JPEGProcess6_8 ||
           x == EXS_JPEGProcess7_9 || x == EXS_JPEGProcess10_12 || x == EXS_JPEGProcess11_13 ||
           x == EXS_JPEGProcess14 || x == EXS_JPEGProcess15 || x == EXS_JPEGProcess16_18 || x == EXS_JPEGProcess17_19 ||
           x == EXS_JPEGProcess20_22 || x == EXS_JPEGProcess21_23 || x == EXS_JPEGProcess24_26 ||
           x == EXS_JPEGProcess25_27 || x == EXS_JPEGProcess28 || x == EXS_JPEGProcess29 || x == EXS_JPEGProcess14SV1;
}

// The first fragment (after the offset table), as DCMTK's JPEG decoder walks it.
bool jpeg_first_fragment_walk_ends(DcmDataset& ds) {
    DcmElement* element = nullptr;
    DcmPixelSequence* sequence = nullptr;
    if (ds.findAndGetElement(DCM_PixelData, element).bad() || !element ||
        static_cast<DcmPixelData*>(element)
            ->getEncapsulatedRepresentation(ds.getOriginalXfer(), nullptr, sequence)
            .bad() ||
        !sequence || sequence->card() < 2)
        return true;  // DCMTK refuses these itself
    DcmPixelItem* item = nullptr;
    Uint8* data = nullptr;
    if (sequence->getItem(item, 1).bad() || !item || item->getLength() == 0 || item->getUint8Array(data).bad() || !data)
        return true;
    return jpeg_marker_walk_ends(data, item->getLength());
}

// DCMTK's RLE, JPEG and JPEG-LS decoders size the whole decoded pixel data (every frame: Number
// of Frames, at most one per fragment) from the header before they read a byte of it. So the
// header's image size is checked first, and the decoded size is bounded: a file of a few bytes
// that claims 65535 x 65535 pixels or thousands of frames is refused before anything is allocated.
constexpr uint64_t kMaxDecoded = uint64_t{1} << 30;

Result<Ok> decoded_size_check(DcmDataset& ds) {
    Uint16 rows = 0, columns = 0, samples = 1, allocated = 0;
    if (ds.findAndGetUint16(DCM_Rows, rows).bad() || ds.findAndGetUint16(DCM_Columns, columns).bad() ||
        ds.findAndGetUint16(DCM_BitsAllocated, allocated).bad())
        return Ok{};  // the decoders refuse these themselves, allocating nothing
    (void)ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
    if (auto size = image_size_refusal(columns, rows)) return bad(*size);
    DcmElement* element = nullptr;
    DcmPixelSequence* sequence = nullptr;
    Sint32 frames = 1;
    (void)ds.findAndGetSint32(DCM_NumberOfFrames, frames);
    if (ds.findAndGetElement(DCM_PixelData, element).good() && element &&
        static_cast<DcmPixelData*>(element)
            ->getEncapsulatedRepresentation(ds.getOriginalXfer(), nullptr, sequence)
            .good() &&
        sequence)
        frames =
            std::min<Sint32>(frames, static_cast<Sint32>(std::min<unsigned long>(sequence->card(), INT32_MAX)) - 1);
    frames = std::max<Sint32>(frames, 1);
    // A sample takes Bits Allocated (DCMTK's RLE and JPEG-LS decoders), and 2 bytes where a JPEG
    // stream's precision is above 8 bits, which it cannot be in a valid file of 8 bits allocated.
    const uint64_t sample_bytes = std::max<uint64_t>((uint64_t{allocated} + 7) / 8, 1);
    // One frame is at most 2^16 * 2^16 * 2^16 * 2^13 bytes, so it fits; the frames are compared by
    // division, so their product never wraps past the limit.
    const uint64_t frame_bytes = uint64_t{rows} * columns * std::max<Uint16>(samples, 1) * sample_bytes;
    if (frame_bytes == 0 || static_cast<uint64_t>(frames) <= kMaxDecoded / frame_bytes) return Ok{};
    const auto megabytes = [](long double b) { return std::to_string(static_cast<uint64_t>(b / 1e6L)); };
    return unsupported("its " + std::to_string(frames) + " frame(s) of " + std::to_string(columns) + " x " +
                       std::to_string(rows) + " pixels would decode to " +
                       megabytes(static_cast<long double>(frame_bytes) * frames) + " MB; at most " +
                       megabytes(kMaxDecoded) + " MB of pixels are decoded from a compressed file");
    return Ok{};
}

// Decompresses the pixel data in place (JPEG 2000 is decoded frame by frame, below); names the
// transfer syntax it cannot decode.
Result<Ok> decompress(DcmDataset& ds) {
    const DcmXfer original(ds.getOriginalXfer());
    if (!original.isEncapsulated()) return Ok{};
    const std::string name = original.getXferName();
    if (is_jpeg2000(original.getXfer())) return Ok{};
    if (auto r = decoded_size_check(ds); !r) return r.problems();
    if (is_dcmjpeg(original.getXfer()) && !jpeg_first_fragment_walk_ends(ds))
        return unsupported("its pixels are compressed as " + name +
                           " with a marker (TEM, FF 01) before the frame header, which this device does not decode");
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
    // Number of Frames (IS): digits between optional spaces; anything else is damage, not 1 frame.
    const std::string frames_text = text_of(ds, DCM_NumberOfFrames);
    const size_t digits_from = frames_text.find_first_not_of(' '), digits_to = frames_text.find_last_not_of(' ');
    if (digits_from != std::string::npos &&
        frames_text.substr(digits_from, digits_to - digits_from + 1).find_first_not_of("+0123456789") !=
            std::string::npos)
        return bad("its Number of Frames (\"" + frames_text + "\") is not a number");
    Sint32 frames = 1;
    if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 0) l.frames = frames;
    l.photometric = text_of(ds, DCM_PhotometricInterpretation);
    if (l.rows == 0 || l.columns == 0) return bad("its image size is zero");
    if (auto size = image_size_refusal(l.columns, l.rows)) return bad(*size);
    if (l.allocated != 1 && l.allocated != 8 && l.allocated != 16 && l.allocated != 32)
        return unsupported("its pixels use " + std::to_string(l.allocated) + " bits; 1, 8, 16 or 32 are read");
    if (l.stored == 0 || l.stored > l.allocated || l.high != l.stored - 1)
        return unsupported("its pixels' bit layout (Bits Stored " + std::to_string(l.stored) + ", High Bit " +
                           std::to_string(l.high) + ") is not one this device reads");
    const bool grey = l.photometric == "MONOCHROME1" || l.photometric == "MONOCHROME2";
    // JPEG 2000's colour transforms (YBR_RCT, YBR_ICT) are undone by its decoder: RGB.
    // Uncompressed YBR_FULL_422 (PS3.3 C.7.6.3.1.2): Y0 Y1 Cb Cr for each two pixels of a row
    // (compressed, it is RGB once its decoder has read it, and the header says so).
    const bool colour = l.photometric == "RGB" || l.photometric == "YBR_FULL" || l.photometric == "YBR_FULL_422" ||
                        l.photometric == "YBR_RCT" || l.photometric == "YBR_ICT";
    if (!(grey && l.samples == 1) && !(colour && l.samples == 3))
        return unsupported("its colour form (" + (l.photometric.empty() ? std::string("none given") : l.photometric) +
                           ", " + std::to_string(l.samples) + " samples) is not one this device reads");
    if (l.allocated == 1 && !grey)
        return unsupported("its pixels use 1 bit each in colour (" + l.photometric +
                           "), which is not one this device reads");
    // YBR_FULL is converted to RGB in single precision, centred on 128 or 32768 (finish_frame).
    if (l.photometric == "YBR_FULL" && l.allocated == 32)
        return unsupported("its colour form YBR_FULL is read with 8 or 16 bits, not 32");
    if (l.photometric == "YBR_FULL_422" && (l.allocated != 8 || l.columns % 2 != 0 || l.planar != 0))
        return unsupported(
            "its colour form YBR_FULL_422 is read with 8 bits, an even number of columns and "
            "interleaved samples only");
    return l;
}

// The stored value of a sample: Bits Stored wide, sign-extended when Pixel Representation is 1.
int64_t sample_integer(uint32_t raw, const Layout& l) {
    const uint32_t mask = l.stored >= 32 ? 0xffffffffu : ((1u << l.stored) - 1);
    uint32_t v = raw & mask;
    if (l.signed_ && (v >> (l.stored - 1)) & 1u) return static_cast<int64_t>(v) - (int64_t{1} << l.stored);
    return static_cast<int64_t>(v);
}
double sample_value(uint32_t raw, const Layout& l) { return static_cast<double>(sample_integer(raw, l)); }

Result<Ok> frame_exists(const Layout& l, int frame) {
    if (frame < 0 || frame >= l.frames)
        return unsupported("it has " + std::to_string(l.frames) + " frame(s); frame " + std::to_string(frame + 1) +
                           " was asked for");
    return Ok{};
}

// A frame of zeros, its samples held as wide as `bits`-bit values need (imaging/image_input.h,
// Samples: single precision up to 24 bits, double beyond).
Pixels empty_frame(const Layout& l, int bits) {
    Pixels p;
    p.width = l.columns;
    p.height = l.rows;
    p.channels = l.samples;
    p.frames = static_cast<int>(l.frames);
    p.values = Samples(size_t{l.rows} * l.columns * l.samples, bits);
    return p;
}

// YBR_FULL to RGB, and MONOCHROME1 noted: what every frame gets once its samples are in place.
// The RGB values are whole numbers in the samples' range, rounded (floor of x + 0.5) and clipped,
// computed in single precision with the coefficients of PS3.3 C.7.6.3.1.2 written as pydicom
// writes them (its convert_color_space), so that both give the same values.
Pixels finish_frame(Pixels p, const Layout& l) {
    const size_t plane = size_t{l.rows} * l.columns;
    if (l.photometric == "YBR_FULL" || l.photometric == "YBR_FULL_422") {  // full range
        const float half = l.allocated == 8 ? 128.0f : 32768.0f, top = 2 * half - 1;
        const auto g_cb = static_cast<float>(-0.114 * 1.772 / 0.587), g_cr = static_cast<float>(-0.299 * 1.402 / 0.587);
        auto whole = [top](float v) { return std::clamp(std::floor(v + 0.5f), 0.0f, top); };
        p.values.visit([&](auto& values) {
            for (size_t i = 0; i < plane; ++i) {
                auto* px = values.data() + 3 * i;
                const auto y = static_cast<float>(px[0]), cb = static_cast<float>(px[1]) - half,
                           cr = static_cast<float>(px[2]) - half;
                px[0] = whole(y + 0.0f * cb + 1.402f * cr);
                px[1] = whole(y + g_cb * cb + g_cr * cr);
                px[2] = whole(y + 1.772f * cb + 0.0f * cr);
            }
        });
    }
    p.monochrome1 = l.photometric == "MONOCHROME1";
    return p;
}

// The pixel data's bytes as DCMTK holds them: OW data as 16-bit words in this machine's order
// (little-endian here and in wasm; a big-endian file's words are swapped into it), OB data as the
// file's byte stream, never swapped.
struct RawPixels {
    std::span<const Uint8> bytes;
    bool byte_stream = false;  // OB (or any VR but OW)
};
Result<RawPixels> raw_bytes(DcmDataset& ds) {
    DcmElement* element = nullptr;
    if (ds.findAndGetElement(DCM_PixelData, element).bad() || !element) return bad("it has no pixel data");
    const bool byte_stream = element->getTag().getEVR() != EVR_OW;
    const Uint8* data = nullptr;
    unsigned long count = 0;
    if (ds.findAndGetUint8Array(DCM_PixelData, data, &count).good() && data)
        return RawPixels{std::span(data, count), byte_stream};
    const Uint16* words = nullptr;
    if (ds.findAndGetUint16Array(DCM_PixelData, words, &count).good() && words)
        return RawPixels{std::span(reinterpret_cast<const Uint8*>(words), 2 * size_t{count}), byte_stream};
    return bad("it has no pixel data");
}

// A 16- or 32-bit sample from its `width` bytes at `b`. A little-endian file's sample: lowest
// byte first. A big-endian file's, as pydicom reads it (the transfer syntax's order, whatever the
// VR): from an OB byte stream most significant byte first; from OW words (held in this machine's
// order) the high word first.
uint32_t sample_bits(const Uint8* b, size_t width, bool big_endian, bool byte_stream) {
    const auto word = [](const Uint8* w) { return uint32_t{w[0]} | uint32_t{w[1]} << 8; };
    if (big_endian && byte_stream) {
        uint32_t v = 0;
        for (size_t i = 0; i < width; ++i) v = v << 8 | b[i];
        return v;
    }
    if (width == 2) return word(b);
    return big_endian ? word(b) << 16 | word(b + 2) : word(b + 2) << 16 | word(b);
}

Result<Pixels> frame_pixels(DcmDataset& ds, const Layout& l, int frame) {
    if (auto r = frame_exists(l, frame); !r) return r.problems();
    // Sizes in 64 bits: in the browser's 32-bit wasm, frames x a frame's samples could wrap past
    // 2^32 and let a short file pass the length checks below.
    const uint64_t per_frame = uint64_t{l.rows} * l.columns * l.samples;
    const uint64_t need = per_frame * static_cast<uint64_t>(l.frames);
    Pixels p = empty_frame(l, l.stored);
    const size_t plane = size_t{l.rows} * l.columns;
    // Sample s of pixel i sits at i * samples + s (interleaved), or s * plane + i (Planar Configuration 1).
    auto place = [&](size_t k) {
        if (l.samples == 1 || l.planar == 0) return k;
        return (k % plane) * l.samples + k / plane;
    };
    const uint64_t first = per_frame * static_cast<uint64_t>(frame);
    if (l.allocated == 1 || l.photometric == "YBR_FULL_422") {
        // Packed: 1-bit samples, eight to a byte from its lowest bit (a frame may start inside a
        // byte), or YBR_FULL_422's four bytes for two pixels.
        auto raw = raw_bytes(ds);
        if (!raw) return raw.problems();
        const std::span<const Uint8> bytes = raw->bytes;
        const uint64_t pixels = uint64_t{l.rows} * l.columns;
        const uint64_t count = bytes.size(), at = pixels * static_cast<uint64_t>(frame);
        if (l.allocated == 1) {
            if (count * 8 < pixels * static_cast<uint64_t>(l.frames))
                return bad("its pixel data is shorter than its size says (the file may be truncated)");
            for (uint64_t k = 0; k < pixels; ++k) p.values.set(k, (bytes[(at + k) >> 3] >> ((at + k) & 7)) & 1u);
        } else {
            if (count < 2 * pixels * static_cast<uint64_t>(l.frames))
                return bad("its pixel data is shorter than its size says (the file may be truncated)");
            const Uint8* d = bytes.data() + 2 * at;
            for (uint64_t k = 0; k < pixels; k += 2, d += 4)
                for (size_t j = 0; j < 2; ++j) {
                    p.values.set(3 * (k + j), d[j]);
                    p.values.set(3 * (k + j) + 1, d[2]);
                    p.values.set(3 * (k + j) + 2, d[3]);
                }
        }
        return finish_frame(std::move(p), l);
    }
    if (l.allocated == 8) {
        const Uint8* data = nullptr;
        unsigned long count = 0;
        if (ds.findAndGetUint8Array(DCM_PixelData, data, &count).bad() || !data) return bad("it has no pixel data");
        if (uint64_t{count} < need)
            return bad("its pixel data is shorter than its size says (the file may be truncated)");
        for (uint64_t k = 0; k < per_frame; ++k) p.values.set(place(k), sample_value(data[first + k], l));
    } else {
        // 16 and 32 bits: each sample's bytes (sample_bits), every value exactly (held as doubles
        // beyond 24 bits stored).
        auto raw = raw_bytes(ds);
        if (!raw) return raw.problems();
        const size_t width = l.allocated / 8;
        if (uint64_t{raw->bytes.size()} / width < need)
            return bad("its pixel data is shorter than its size says (the file may be truncated)");
        const bool big_endian = DcmXfer(ds.getOriginalXfer()).isBigEndian();
        for (uint64_t k = 0; k < per_frame; ++k)
            p.values.set(place(k), sample_value(sample_bits(raw->bytes.data() + width * (first + k), width, big_endian,
                                                            raw->byte_stream),
                                                l));
    }
    return finish_frame(std::move(p), l);
}

//-----------------------------------------------------------------------------
// [SECTION] JPEG 2000 frames (OpenJPEG)
//-----------------------------------------------------------------------------
// DCMTK has no free JPEG 2000 codec: it parses the file, and the frame's codestream, taken from
// the encapsulated fragments, is decoded here by OpenJPEG (Debian's libopenjp2 natively, its
// source package compiled to wasm for the browser).
// The fragments of frame `frame`: all of them for a single frame; otherwise each frame starts
// with a fragment that opens a codestream (SOC, FF 4F) or a JP2 file, which does not need the
// offset table (often empty) to be right.
Result<std::string> jpeg2000_codestream(DcmDataset& ds, const Layout& l, int frame) {
    DcmElement* element = nullptr;
    if (ds.findAndGetElement(DCM_PixelData, element).bad() || !element) return bad("it has no pixel data");
    DcmPixelSequence* sequence = nullptr;
    if (static_cast<DcmPixelData*>(element)
            ->getEncapsulatedRepresentation(ds.getOriginalXfer(), nullptr, sequence)
            .bad() ||
        !sequence)
        return bad("its compressed pixel data is missing or damaged");
    std::vector<std::string> fragments;
    for (unsigned long i = 1; i < sequence->card(); ++i) {  // item 0: the offset table
        DcmPixelItem* item = nullptr;
        Uint8* data = nullptr;
        if (sequence->getItem(item, i).bad() || !item) return bad("its compressed pixel data is damaged");
        if (item->getLength() == 0) {
            fragments.emplace_back();
            continue;
        }
        if (item->getUint8Array(data).bad() || !data) return bad("its compressed pixel data is damaged");
        fragments.emplace_back(reinterpret_cast<const char*>(data), item->getLength());
    }
    if (fragments.empty()) return bad("its compressed pixel data holds no frame");
    const auto opens = [](const std::string& f) {
        static const char jp2[] = "\x00\x00\x00\x0cjP  ";
        return (f.size() >= 2 && static_cast<uint8_t>(f[0]) == 0xff && static_cast<uint8_t>(f[1]) == 0x4f) ||
               f.compare(0, 8, jp2, 8) == 0;
    };
    std::string out;
    if (l.frames == 1) {
        for (const auto& f : fragments) out += f;
        return out;
    }
    long at = -1;
    for (const auto& f : fragments) {
        if (opens(f)) ++at;
        if (at == frame) out += f;
        if (at > frame) break;
    }
    if (at < frame || out.empty())
        return bad("its compressed pixel data does not hold frame " + std::to_string(frame + 1) + " of " +
                   std::to_string(l.frames));
    return out;
}

// OpenJPEG reads the codestream from memory through these callbacks; its errors are kept.
struct Source {
    std::string_view bytes;
    size_t at = 0;
    std::string error;
};
OPJ_SIZE_T source_read(void* buffer, OPJ_SIZE_T want, void* user) {
    auto* s = static_cast<Source*>(user);
    if (s->at >= s->bytes.size()) return static_cast<OPJ_SIZE_T>(-1);
    const size_t n = std::min(static_cast<size_t>(want), s->bytes.size() - s->at);
    std::memcpy(buffer, s->bytes.data() + s->at, n);
    s->at += n;
    return n;
}
OPJ_OFF_T source_skip(OPJ_OFF_T n, void* user) {
    auto* s = static_cast<Source*>(user);
    if (n < 0) return -1;
    const size_t k = std::min(static_cast<size_t>(n), s->bytes.size() - s->at);
    s->at += k;
    return static_cast<OPJ_OFF_T>(k);
}
OPJ_BOOL source_seek(OPJ_OFF_T to, void* user) {
    auto* s = static_cast<Source*>(user);
    if (to < 0 || static_cast<size_t>(to) > s->bytes.size()) return OPJ_FALSE;
    s->at = static_cast<size_t>(to);
    return OPJ_TRUE;
}
void keep_error(const char* message, void* user) {
    auto* s = static_cast<Source*>(user);
    if (s->error.empty() && message) {
        s->error = message;
        while (!s->error.empty() && (s->error.back() == '\n' || s->error.back() == '.')) s->error.pop_back();
    }
}
void ignore(const char*, void*) {}

struct CodecFree {
    void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamFree {
    void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageFree {
    void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

Result<Pixels> jpeg2000_pixels(DcmDataset& ds, const Layout& l, int frame) {
    if (auto r = frame_exists(l, frame); !r) return r.problems();
    auto code = jpeg2000_codestream(ds, l, frame);
    if (!code) return code.problems();
    Source source{*code, 0, {}};
    const bool jp2 = code->size() >= 12 && code->compare(4, 4, "jP  ") == 0;
    std::unique_ptr<opj_codec_t, CodecFree> codec(opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
    std::unique_ptr<opj_stream_t, StreamFree> stream(opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE));
    if (!codec || !stream) return bad("its JPEG 2000 decoder could not start");
    opj_stream_set_user_data(stream.get(), &source, nullptr);
    opj_stream_set_user_data_length(stream.get(), code->size());
    opj_stream_set_read_function(stream.get(), source_read);
    opj_stream_set_skip_function(stream.get(), source_skip);
    opj_stream_set_seek_function(stream.get(), source_seek);
    opj_set_error_handler(codec.get(), keep_error, &source);
    opj_set_warning_handler(codec.get(), ignore, nullptr);
    opj_set_info_handler(codec.get(), ignore, nullptr);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    opj_image_t* header = nullptr;
    const auto damaged = [&] {
        return bad("its JPEG 2000 pixel data is damaged (" + (source.error.empty() ? "OpenJPEG" : source.error) + ")");
    };
    if (!opj_setup_decoder(codec.get(), &parameters) || !opj_read_header(stream.get(), codec.get(), &header))
        return damaged();
    std::unique_ptr<opj_image_t, ImageFree> image(header);
    // The codestream's size and components must be the header's before anything is decoded
    // (and allocated) at the codestream's word.
    if (image->numcomps != l.samples || image->x1 - image->x0 != l.columns || image->y1 - image->y0 != l.rows)
        return bad("its JPEG 2000 image (" + std::to_string(image->x1 - image->x0) + " x " +
                   std::to_string(image->y1 - image->y0) + ", " + std::to_string(image->numcomps) +
                   " components) is not the size its header gives");
    for (OPJ_UINT32 c = 0; c < image->numcomps; ++c)
        if (image->comps[c].dx != 1 || image->comps[c].dy != 1)
            return unsupported("its JPEG 2000 colour components are subsampled");
    if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get()))
        return damaged();
    // Where the codestream's sign differs from Pixel Representation (an encoder fault found in
    // archives), its Bits Stored bits are read as the header says, as pydicom and GDCM do.
    // Samples read as the codestream gives them are as wide as its precision, which may exceed Bits Stored.
    int bits = l.stored;
    for (OPJ_UINT32 c = 0; c < image->numcomps; ++c)
        if (image->comps[c].prec != l.stored) bits = std::max(bits, static_cast<int>(image->comps[c].prec));
    Pixels p = empty_frame(l, bits);
    const size_t plane = size_t{l.rows} * l.columns;
    for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
        const opj_image_comp_t& comp = image->comps[c];
        if (!comp.data || comp.w != l.columns || comp.h != l.rows) return damaged();
        const bool as_header = comp.prec == l.stored;
        for (size_t i = 0; i < plane; ++i)
            p.values.set(i * l.samples + c, as_header ? sample_value(static_cast<uint32_t>(comp.data[i]), l)
                                                      : static_cast<double>(comp.data[i]));
    }
    return finish_frame(std::move(p), l);
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Entry point
//-----------------------------------------------------------------------------
Result<Pixels> dicom_decode(std::string_view bytes, int frame) {
    ensure_codecs();
    std::string inflated;  // a deflated file's data set (outlives `file`, which reads from it)
    DcmFileFormat file;
    if (auto r = read_file(bytes, file, inflated); !r) return r.problems();
    DcmDataset& ds = *file.getDataset();
    if (!ds.tagExists(DCM_PixelData)) return bad("it holds no image (no Pixel Data): it may be a report or a plan");
    // The working memory limit (imaging/raster_check.h) from the header, before any pixel is
    // decoded (or decompressed): the file, one frame's samples and the one plane every model's
    // tensor has at least; once decoded, the model's own planes count (imaging/preprocess.h,
    // image_memory_refusal), so that nothing the full check accepts is refused here.
    // Only for the samples LocalDx reads (1 or 3); any other gets its own reason below.
    Uint16 rows = 0, columns = 0, samples = 1, allocated = 0, stored = 0;
    (void)ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
    if ((samples == 1 || samples == 3) && ds.findAndGetUint16(DCM_Rows, rows).good() &&
        ds.findAndGetUint16(DCM_Columns, columns).good() && !image_size_refusal(columns, rows)) {
        (void)ds.findAndGetUint16(DCM_BitsAllocated, allocated);
        if (ds.findAndGetUint16(DCM_BitsStored, stored).bad()) stored = allocated;  // as read_layout reads it
        ImageFootprint f;
        f.width = columns;
        f.height = rows;
        f.file_channels = samples;
        f.sample_bytes = stored > kFloatExactBits ? 8 : 4;
        f.tensor_channels = 1;
        f.file_bytes = static_cast<int64_t>(bytes.size() + inflated.size());  // a deflated file's both
        if (auto large = image_memory_refusal(f)) return *large;
    }
    if (auto r = decompress(ds); !r) return r.problems();
    auto layout = read_layout(ds);
    if (!layout) return layout.problems();
    auto p = is_jpeg2000(ds.getOriginalXfer()) ? jpeg2000_pixels(ds, *layout, frame) : frame_pixels(ds, *layout, frame);
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
    for (const DcmTagKey& tag : {DCM_PixelSpacing, DCM_ImagerPixelSpacing}) {
        Float64 row = 0, column = 0;
        if (ds.findAndGetFloat64(tag, row, 0).good() && ds.findAndGetFloat64(tag, column, 1).good() && row > 0 &&
            column > 0) {
            p->pixel_spacing = 0.5 * (row + column);
            break;
        }
    }
    p->bits_stored = layout->stored;
    return p;
}

}  // namespace ldx
