// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html):
// what each mutex guards and which locks a function needs, checked at compile time by the
// `thread-safety` preset (make thread-safety, part of make test). Other compilers ignore them.
//
// Use the annotated mutexes of common/mutex.h: a member written `T x GUARDED_BY(mu_);` can only
// be touched with `mu_` held, and a function declared `REQUIRES(mu_)` only be called so.
#pragma once

#if defined(__clang__)
#define CH_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CH_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) CH_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY CH_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) CH_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) CH_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) CH_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) CH_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) CH_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) CH_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) CH_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) CH_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) CH_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) CH_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) CH_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) CH_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) CH_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define RETURN_CAPABILITY(x) CH_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS CH_THREAD_ANNOTATION(no_thread_safety_analysis)
