// bootflash: for host tools: flash::Ops straight on a board's NAND image
// file (no timing, no faults), with the device's own on-die ECC, so the
// file system code in common/ runs unchanged on the host.
#pragma once
#include <memory>
#include <string>

#include "flash-sim/nand_flash.h"
#include "trustsim/bfs.h"
#include "trustsim/flash_ops.h"

namespace trustsim {

class ImageFlash : public flash::Ops {
 public:
  ImageFlash(const NandConfig& cfg, const std::string& path);  // opens the image file
  ImageFlash(const NandConfig& cfg, NandImage& image);         // a device's image (backdoor)
  flash::Geometry geometry() const override;
  flash::Result read_page(uint32_t page, uint8_t* buf) override;
  flash::Result program_page(uint32_t page, const uint8_t* buf) override;
  flash::Result erase_block(uint32_t block) override;
  bool is_bad_block(uint32_t block) override;
  flash::Result mark_bad_block(uint32_t block) override;
  NandImage& image() { return image_; }

 private:
  NandConfig cfg_;
  std::unique_ptr<NandImage> owned_;
  NandImage& image_;
  std::vector<uint8_t> raw_;
};

// A mounted bootflash: volume on a board state directory.
struct HostVolume {
  std::unique_ptr<ImageFlash> flash;
  std::unique_ptr<bfs::Volume> volume;
};
// Opens the NAND image; mounts unless `format` (then formats with `label`).
// Throws InputError naming the file and the file system's own reason.
HostVolume open_bootflash(const NandConfig& cfg, const std::string& path, bool format = false,
                          bfs::MountReport* report = nullptr);
HostVolume open_bootflash(const NandConfig& cfg, NandImage& image);  // mount only
// Writes a whole file atomically; throws InputError with the reason. The
// NAND wear side file is written once, at the end.
void put_file(HostVolume& v, const std::string& name, const std::vector<uint8_t>& data, uint32_t timestamp);
std::vector<uint8_t> get_file(bfs::Volume& v, const std::string& name);

}  // namespace trustsim
