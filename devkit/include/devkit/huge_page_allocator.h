// An allocator for large device arrays (a 16 MiB NOR array): blocks of 2 MiB
// and more are their own anonymous mapping, 2 MiB aligned and advised for
// transparent huge pages. A forking campaign copies a process's page tables
// at every fork and tears them down at every exit; a huge page is one entry
// where 4 KiB pages are 512. Where the system gives no huge pages
// (transparent_hugepage "never") the mapping simply uses 4 KiB pages; the
// contents and everything the simulation does are the same either way.
#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace trustsim {

template <class T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t(2) << 20;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  static size_t mapped_size(size_t bytes) { return (bytes + kHuge - 1) & ~(kHuge - 1); }

  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return static_cast<T*>(::operator new(bytes));
    size_t size = mapped_size(bytes);
    // Map one huge page more than needed, then give back the unaligned ends.
    void* p = mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    uintptr_t start = reinterpret_cast<uintptr_t>(p);
    uintptr_t aligned = (start + kHuge - 1) & ~uintptr_t(kHuge - 1);
    if (aligned > start) munmap(p, aligned - start);
    if (aligned + size < start + size + kHuge) munmap(reinterpret_cast<void*>(aligned + size), start + kHuge - aligned);
    madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
    return reinterpret_cast<T*>(aligned);
  }

  void deallocate(T* p, size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < kHuge)
      ::operator delete(p);
    else
      munmap(p, mapped_size(bytes));
  }

  template <class U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

}  // namespace trustsim
