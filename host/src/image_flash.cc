#include "host/image_flash.h"

#include <cstring>

#include "devkit/input_error.h"
#include "trustsim/nand_regs.h"

namespace trustsim {

ImageFlash::ImageFlash(const NandConfig& cfg, const std::string& path)
    : cfg_(cfg),
      owned_(std::make_unique<NandImage>(cfg, path)),
      image_(*owned_),
      raw_(cfg.page_size + cfg.spare_size) {}

ImageFlash::ImageFlash(const NandConfig& cfg, NandImage& image)
    : cfg_(cfg), image_(image), raw_(cfg.page_size + cfg.spare_size) {}

flash::Geometry ImageFlash::geometry() const { return {cfg_.page_size, cfg_.pages_per_block, cfg_.block_count}; }

flash::Result ImageFlash::read_page(uint32_t page, uint8_t* buf) {
  if (page >= image_.page_count()) return flash::Result::kOutOfRange;
  image_.read_page(page, raw_.data());
  uint32_t ecc = NandFlash::correct_ecc(cfg_, raw_.data());
  memcpy(buf, raw_.data(), cfg_.page_size);
  if (ecc == TS_NAND_ECC_UNCORRECTABLE) return flash::Result::kEccError;
  return ecc == TS_NAND_ECC_CORRECTED ? flash::Result::kCorrected : flash::Result::kOk;
}

flash::Result ImageFlash::program_page(uint32_t page, const uint8_t* buf) {
  if (page >= image_.page_count()) return flash::Result::kOutOfRange;
  if (image_.is_grown_bad(page / cfg_.pages_per_block)) return flash::Result::kBadBlock;
  if (!image_.page_is_erased(page)) return flash::Result::kProgramFailed;
  memcpy(raw_.data(), buf, cfg_.page_size);
  memset(raw_.data() + cfg_.page_size, 0xFF, cfg_.spare_size);
  NandFlash::fill_ecc(cfg_, raw_.data());
  image_.write_page(page, raw_.data());
  return flash::Result::kOk;
}

flash::Result ImageFlash::erase_block(uint32_t block) {
  if (block >= cfg_.block_count) return flash::Result::kOutOfRange;
  if (image_.is_grown_bad(block)) return flash::Result::kEraseFailed;
  image_.erase_block(block);
  image_.count_erase(block);
  return flash::Result::kOk;
}

bool ImageFlash::is_bad_block(uint32_t block) {
  if (block >= cfg_.block_count || image_.is_grown_bad(block)) return true;
  image_.read_page(block * cfg_.pages_per_block, raw_.data());
  return raw_[cfg_.page_size + TS_NAND_BAD_BLOCK_MARKER_OFFSET] != 0xFF;
}

flash::Result ImageFlash::mark_bad_block(uint32_t block) {
  if (block >= cfg_.block_count) return flash::Result::kOutOfRange;
  image_.mark_grown_bad(block);
  return flash::Result::kOk;
}

HostVolume open_bootflash(const NandConfig& cfg, const std::string& path, bool format, bfs::MountReport* report) {
  HostVolume hv;
  hv.flash = std::make_unique<ImageFlash>(cfg, path);
  hv.volume = std::make_unique<bfs::Volume>(*hv.flash);
  bfs::Status st;
  if (format) {
    // Format erases every block: write the wear side file once at the end,
    // not once per erase.
    hv.flash->image().hold_meta();
    st = bfs::format(*hv.volume, "bootflash");
    hv.flash->image().release_meta();
  } else {
    bfs::MountReport local{};
    st = bfs::mount(*hv.volume, report ? report : &local);
  }
  if (st != bfs::Status::kOk)
    throw InputError(path + ": bootflash: " + (format ? "format" : "mount") + " failed: " + bfs::status_text(st));
  return hv;
}

HostVolume open_bootflash(const NandConfig& cfg, NandImage& image) {
  HostVolume hv;
  hv.flash = std::make_unique<ImageFlash>(cfg, image);
  hv.volume = std::make_unique<bfs::Volume>(*hv.flash);
  bfs::MountReport rep{};
  bfs::Status st = bfs::mount(*hv.volume, &rep);
  if (st != bfs::Status::kOk) throw InputError(image.path() + ": bootflash: mount failed: " + bfs::status_text(st));
  return hv;
}

void put_file(HostVolume& hv, const std::string& name, const std::vector<uint8_t>& data, uint32_t timestamp) {
  // Writing a file erases a block per 64 pages: keep the erase counts in
  // memory while it runs and write the wear side file once at the end (the
  // same bytes as one write per erase would leave). On an exception the
  // counts are still written, as they were erase by erase before.
  NandImage& image = hv.flash->image();
  image.hold_meta();
  struct Hold {
    NandImage& image;
    bool held = true;
    ~Hold() {
      if (!held) return;
      try {
        image.release_meta();
      } catch (...) {  // already leaving with the first error
      }
    }
  } hold{image};
  bfs::Volume& v = *hv.volume;
  bfs::Status st = bfs::begin_write(v, name.c_str(), timestamp);
  for (size_t off = 0; st == bfs::Status::kOk && off < data.size(); off += 1 << 20) {
    size_t n = std::min<size_t>(1 << 20, data.size() - off);
    st = bfs::append(v, data.data() + off, n);
  }
  if (st == bfs::Status::kOk)
    st = bfs::commit(v);
  else
    bfs::abort(v);
  hold.held = false;
  image.release_meta();  // may throw: the side file could not be written
  if (st != bfs::Status::kOk) throw InputError("bootflash:" + name + ": " + bfs::status_text(st));
}

std::vector<uint8_t> get_file(bfs::Volume& v, const std::string& name) {
  bfs::FileInfo fi;
  bfs::Status st = bfs::stat(v, name.c_str(), &fi);
  if (st != bfs::Status::kOk) throw InputError("bootflash:" + name + ": " + bfs::status_text(st));
  std::vector<uint8_t> data(fi.size);
  size_t got = 0;
  st = bfs::read(v, name.c_str(), 0, data.data(), data.size(), &got);
  if (st != bfs::Status::kOk || got != fi.size)
    throw InputError("bootflash:" + name + ": read failed: " + bfs::status_text(st));
  return data;
}

}  // namespace trustsim
