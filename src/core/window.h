// A series' window, whatever its kind: the one seam between the pipeline
// (push, reads, closing, merge, state) and the window kinds.
//
// Every kind is a class with the same operations (CountWindow,
// PaneWindow; a new kind implements them and joins the variant):
//
//   kTimed                      runs of a series' values are split by pane
//                               of event time (the `pane` argument below);
//                               false: a run is all of the series' values
//   ReserveRun(x, t, n, pane, map, scope) -> bool
//                               room for a run (false: the run is late,
//                               nothing reserved); runs of one call add up
//   UndoReservations()          a failed call gives its room back
//   EndReservation()            the call is done
//   AddRun(x, t, n, pane, map, scope) -> bool
//                               adds a reserved run, allocation-free
//                               (false: late); n == 1 is the one-value path
//   Prefetch()                  warms what the next run of the series
//                               touches (ahead in the keyed loop)
//   Summarize(wm_set, wm, view) -> int64_t
//                               the window a read describes, and the read's
//                               watermark field
//   Advance(wm, emit), Closing(wm, visit), FirstOpenWindow()
//                               closing of due windows (kinds that never
//                               close: no-ops, nullopt)
//   ReserveMerge(from, fresh, map, scope), MergeFrom(...) -> refused values
//   Free(scope)                 before destruction
//   Write(sink), static Validate(in, shape, map, watermark) -> StoredView,
//   static Held(view), Load(view, map, scope)
//                               the serialized form (each kind's "Serialized
//                               form" section; src/state keeps the envelope)
//   static Serves(kind), a constructor from (shape, scope)
//                               which WindowKinds it is, how it is made
//   kTimed, static Emits(shape) what it means for the pipeline (lateness;
//                               closing into the queue)
//
// A new kind: a class with these operations in its own file, added to
// `Kinds` below; its WindowKind and the config fields it needs in
// config.h / WindowShape (window_view.h). Nothing else in the core
// branches on the kind.
//
// Dispatch is once per call or per run, never per value: the hot loops of
// a keyed push dispatch once per call (every series of a handle has the
// same kind: VisitKind on any of them) and reach each series' window with
// As<W>(), which reads no tag.
#ifndef WINDOWAGG_CORE_WINDOW_H_
#define WINDOWAGG_CORE_WINDOW_H_

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/functional/function_ref.h"
#include "core/count_window.h"
#include "core/memory.h"
#include "core/pane_window.h"
#include "core/sketch.h"
#include "core/time_math.h"
#include "core/window_view.h"
#include "core/wire.h"

namespace windowagg::internal {

template <class Kinds>
struct StoredViewsOf;
template <class... W>
struct StoredViewsOf<std::variant<W...>> {
  using type = std::variant<typename W::StoredView...>;
};

class Window {
 public:
  using Kinds = std::variant<CountWindow, PaneWindow>;

 private:
  // f(static_cast<W*>(nullptr)) for the kind W that serves `kind` (the
  // last one if none does: config validation admits only served kinds).
  template <size_t I = 0, class F>
  static decltype(auto) WithKind(WindowKind kind, F&& f) {
    using W = std::variant_alternative_t<I, Kinds>;
    if constexpr (I + 1 < std::variant_size_v<Kinds>) {
      if (!W::Serves(kind)) return WithKind<I + 1>(kind, std::forward<F>(f));
    }
    return f(static_cast<W*>(nullptr));
  }

 public:
  // A validated stored window of any kind (Validate, then Load).
  using StoredView = typename StoredViewsOf<Kinds>::type;

  // The window of the kind that serves shape.kind.
  Window(const WindowShape& shape, const MemoryScope* scope) : v_(Make(shape, scope)) {}
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  // f(kind&): once per call or per run.
  template <class F>
  decltype(auto) Visit(F&& f) {
    return std::visit(std::forward<F>(f), v_);
  }
  template <class F>
  decltype(auto) Visit(F&& f) const {
    return std::visit(std::forward<F>(f), v_);
  }
  // The window as kind W, which it is (checked in debug builds only): for
  // loops that dispatched once per call (see the header comment).
  template <class W>
  W& As() noexcept {
    AssumeHolds<W>();
    return *std::get_if<W>(&v_);
  }
  template <class W>
  const W& As() const noexcept {
    AssumeHolds<W>();
    return *std::get_if<W>(&v_);
  }
  // The window as kind W, or null (serialization, tests).
  template <class W>
  W* get_if() noexcept {
    return std::get_if<W>(&v_);
  }
  template <class W>
  const W* get_if() const noexcept {
    return std::get_if<W>(&v_);
  }

  // ---- The operations, dispatched once per call ----
  bool ReserveRun(const double* x, const int64_t* t, size_t n, int64_t pane,
                  const SketchMapping& map, const MemoryScope& scope) {
    return Visit([&](auto& w) { return w.ReserveRun(x, t, n, pane, map, scope); });
  }
  bool AddRun(const double* x, const int64_t* t, size_t n, int64_t pane,
              const SketchMapping& map, const MemoryScope& scope) {
    return Visit([&](auto& w) { return w.AddRun(x, t, n, pane, map, scope); });
  }
  void UndoReservations() noexcept {
    Visit([](auto& w) { w.UndoReservations(); });
  }
  void EndReservation() noexcept {
    Visit([](auto& w) { w.EndReservation(); });
  }
  int64_t Summarize(bool wm_set, int64_t wm, WindowView* view) const {
    return Visit([&](const auto& w) { return w.Summarize(wm_set, wm, view); });
  }
  void Advance(int64_t wm, absl::FunctionRef<void(const WindowView&)> emit) {
    Visit([&](auto& w) { w.Advance(wm, emit); });
  }
  void Closing(int64_t wm, absl::FunctionRef<void(const WindowView&)> visit) const {
    Visit([&](const auto& w) { w.Closing(wm, visit); });
  }
  std::optional<Wide> FirstOpenWindow() const {
    return Visit([](const auto& w) { return w.FirstOpenWindow(); });
  }
  void ReserveMerge(const Window& from, bool fresh, const SketchMapping& map,
                    const MemoryScope& scope) {
    Visit([&](auto& w) {
      w.ReserveMerge(std::get<std::decay_t<decltype(w)>>(from.v_), fresh, map, scope);
    });
  }
  uint64_t MergeFrom(const Window& from, bool fresh, const SketchMapping& map,
                     const MemoryScope& scope) {
    return Visit([&](auto& w) {
      return w.MergeFrom(std::get<std::decay_t<decltype(w)>>(from.v_), fresh, map, scope);
    });
  }
  void Free(const MemoryScope& scope) noexcept {
    Visit([&](auto& w) { w.Free(scope); });
  }

  // ---- What the kind means for the pipeline (once, at handle creation) ----
  // Values belong to windows by event time, so late values exist (the
  // kind's kTimed; false: every value is taken, time only moves the
  // watermark).
  static bool Timed(const WindowShape& shape) {
    return WithKind(shape.kind,
                    [](auto* kind) { return std::remove_pointer_t<decltype(kind)>::kTimed; });
  }
  // Windows close as the watermark passes them and go to the handle's queue
  // (polls, pending counts, key_ttl's last windows).
  static bool Emits(const WindowShape& shape) {
    return WithKind(shape.kind, [&](auto* kind) {
      return std::remove_pointer_t<decltype(kind)>::Emits(shape);
    });
  }

  // ---- Serialized form: the kind's own, untagged (the handle's config
  // says which kind every series has) ----
  void Write(WireSink& s) const {
    Visit([&](const auto& w) { w.Write(s); });
  }
  // Reads and validates a stored window of the kind that serves shape.kind
  // (allocates nothing); throws Error(kCorrupt) naming the field.
  static StoredView Validate(WireSource& in, const WindowShape& shape, const SketchMapping& map,
                             const int64_t* watermark) {
    return ValidateAs(in, shape, map, watermark);
  }
  // Values the stored window has taken (its series' total is at least that).
  static uint64_t Held(const StoredView& v) {
    return HeldAs(v);
  }
  // Rebuilds this (empty) window from a view validated with its shape.
  void Load(const StoredView& v, const SketchMapping& map, const MemoryScope& scope) {
    Visit([&](auto& w) {
      using W = std::decay_t<decltype(w)>;
      w.Load(std::get<typename W::StoredView>(v), map, scope);
    });
  }

 private:
  static Kinds Make(const WindowShape& shape, const MemoryScope* scope) {
    return WithKind(shape.kind, [&](auto* kind) {
      return Kinds(std::in_place_type<std::remove_pointer_t<decltype(kind)>>, shape, scope);
    });
  }
  static StoredView ValidateAs(WireSource& in, const WindowShape& shape, const SketchMapping& map,
                               const int64_t* watermark) {
    return WithKind(shape.kind, [&](auto* kind) {
      using W = std::remove_pointer_t<decltype(kind)>;
      return StoredView(std::in_place_type<typename W::StoredView>,
                        W::Validate(in, shape, map, watermark));
    });
  }
  template <size_t I = 0>
  static uint64_t HeldAs(const StoredView& v) {
    if constexpr (I + 1 < std::variant_size_v<Kinds>) {
      if (v.index() != I) return HeldAs<I + 1>(v);
    }
    return std::variant_alternative_t<I, Kinds>::Held(*std::get_if<I>(&v));
  }
  template <class W>
  void AssumeHolds() const noexcept {
#ifdef NDEBUG
    if (!std::holds_alternative<W>(v_)) __builtin_unreachable();
#else
    if (!std::holds_alternative<W>(v_)) __builtin_trap();
#endif
  }

  Kinds v_;
};

// f(kind&) for the kind every series of the handle has, given one of them:
// the once-per-call dispatch of the hot loops (then As<kind>() per series).
template <class F>
decltype(auto) VisitKind(const Window& any, F&& f) {
  return any.Visit([&](const auto& w) {
    return f(static_cast<std::decay_t<decltype(w)>*>(nullptr));
  });
}

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_WINDOW_H_
