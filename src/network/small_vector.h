// SmallVector<T, N>: a vector of plain (trivially destructible) values that keeps its first N
// elements inline (no allocation) and moves them to the heap only past N. The per-plan sizes of the
// network model (hierarchy levels, torus dimensions, the symmetric solver's link and flow
// classes) fit inline, so placing a group or solving its traffic allocates nothing; the
// explicit solver's cluster-sized problems spill to the heap.
//
// A subset of std::vector's interface, with the same meaning: element access, iteration,
// size, push_back, resize, assign, clear, reserve, comparison (also against a std::vector).
// Once spilled it stays on the heap (clear keeps the capacity).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <type_traits>
#include <utility>
#include <vector>

namespace fathom::network {

template <class T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_destructible_v<T>, "SmallVector holds plain values");

 public:
  using value_type = T;
  using size_type = size_t;
  using reference = T&;
  using const_reference = const T&;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVector() = default;
  SmallVector(std::initializer_list<T> init) { assign(init.begin(), init.end()); }
  SmallVector(size_t n, const T& value) { assign(n, value); }
  SmallVector(const SmallVector& o) { assign(o.begin(), o.end()); }
  SmallVector& operator=(const SmallVector& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  SmallVector(SmallVector&& o) noexcept { *this = std::move(o); }
  SmallVector& operator=(SmallVector&& o) noexcept {
    if (this == &o) return *this;
    if (o.spilled_) {
      heap_ = std::move(o.heap_);
      spilled_ = true;
    } else {
      std::copy(o.inline_.begin(), o.inline_.begin() + o.size_, inline_.begin());
      heap_.clear();
      spilled_ = false;
    }
    size_ = o.size_;
    o.heap_.clear();
    o.spilled_ = false;
    o.size_ = 0;
    return *this;
  }
  SmallVector& operator=(std::initializer_list<T> init) {
    assign(init.begin(), init.end());
    return *this;
  }

  T* data() { return spilled_ ? heap_.data() : inline_.data(); }
  const T* data() const { return spilled_ ? heap_.data() : inline_.data(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& front() { return data()[0]; }
  const T& front() const { return data()[0]; }
  T& back() { return data()[size_ - 1]; }
  const T& back() const { return data()[size_ - 1]; }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }

  void reserve(size_t n) {
    if (n > N && !spilled_) Spill();
    if (spilled_) heap_.reserve(n);
  }
  void clear() {
    size_ = 0;
    if (spilled_) heap_.clear();
  }
  void resize(size_t n, const T& value = T{}) {
    if (n > N && !spilled_) Spill();
    if (spilled_) {
      heap_.resize(n, value);
    } else if (n > size_) {
      std::fill(inline_.begin() + size_, inline_.begin() + n, value);
    }
    size_ = n;
  }
  void assign(size_t n, const T& value) {
    clear();
    resize(n, value);
  }
  template <class It>
  void assign(It first, It last) {
    clear();
    const size_t n = static_cast<size_t>(std::distance(first, last));
    if (n > N && !spilled_) Spill();
    if (spilled_) {
      heap_.assign(first, last);
    } else {
      std::copy(first, last, inline_.begin());
    }
    size_ = n;
  }
  void push_back(const T& value) {
    if (!spilled_ && size_ == N) Spill();
    if (spilled_) {
      heap_.push_back(value);
    } else {
      inline_[size_] = value;
    }
    ++size_;
  }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    push_back(T{std::forward<Args>(args)...});
    return back();
  }

  friend bool operator==(const SmallVector& a, const SmallVector& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const SmallVector& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void Spill() {
    heap_.assign(inline_.begin(), inline_.begin() + size_);
    spilled_ = true;
  }

  std::array<T, N> inline_{};
  std::vector<T> heap_;  // holds the elements once spilled
  size_t size_ = 0;
  bool spilled_ = false;
};

}  // namespace fathom::network
