// shared/drift/image_descriptors.h — what an imaging model's drift report counts of each image.
//
// Index of this file
//   [SECTION] Descriptors of one image
//   [SECTION] The training images' descriptors (the model build's CSV)
//   [SECTION] Reference histograms
//
// Per image, eight coarse descriptors go into the report beside the predicted class and the
// probability bins (drift/report.h), each in its own histogram, randomized like a tabular field:
//   image.modality, image.body_part, image.view  the DICOM header's value: one bin per value the
//                       schema lists, one for any other value, and "not given" (PNG, JPEG, an
//                       empty tag) in the missing bin
//   image.size          sqrt(rows x columns) of the decoded image: < 256, < 512, < 1024, < 2048,
//                       larger
//   image.pixel_spacing mm (PixelSpacing, else ImagerPixelSpacing; the mean of row and column):
//                       < 0.1, < 0.15, < 0.2, < 0.3, < 0.5, larger, not given
//   image.bits_stored   8, 9-10, 11-12, 13-14, 15-16, not given (PNG and JPEG)
//   image.mean_intensity, image.contrast  the mean and standard deviation of the preprocessed
//                       tensor, in 5 bins of equal training mass (quantiles of the training images)
// No raw value leaves the device: only the bin, after randomized response.
#pragma once
#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "drift/histogram.h"
#include "imaging/image_input.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Descriptors of one image
//-----------------------------------------------------------------------------
inline constexpr size_t kImageDescriptors = 8;
inline constexpr std::array<std::string_view, kImageDescriptors> kImageDescriptorNames{
    "image.modality",      "image.body_part",   "image.view",           "image.size",
    "image.pixel_spacing", "image.bits_stored", "image.mean_intensity", "image.contrast"};
using ImageDescriptors = std::array<double, kImageDescriptors>;

// A header value as its category: its index in `listed`, listed.size() for any other value, NaN
// when not given (empty).
double image_category_value(const std::vector<std::string>& listed, std::string_view value);
// The image's descriptors, NaN where not given: `pixels` as decoded, `tensor` its preprocessed
// tensor (imaging/preprocess.h).
ImageDescriptors image_descriptors(const ImageInput& in, const Pixels& pixels, const Tensor& tensor);

//-----------------------------------------------------------------------------
// [SECTION] The training images' descriptors
//-----------------------------------------------------------------------------
// A CSV with one row per training image and the columns modality, body_part, view, rows, columns,
// pixel_spacing, bits_stored, mean, std (the tensor's; empty cells: not given), as the model build
// writes it (models/opacity-demo/make_cnn.py). Returns rows x kImageDescriptors, row-major.
Result<std::vector<double>> image_descriptors_from_csv(const ImageInput& in, std::string_view csv);

//-----------------------------------------------------------------------------
// [SECTION] Reference histograms
//-----------------------------------------------------------------------------
// The bundle's histograms of the descriptors (Reference::image), from rows x kImageDescriptors.
std::vector<Histogram> image_reference_histograms(const ImageInput& in, std::span<const double> rows);

}  // namespace ldx
