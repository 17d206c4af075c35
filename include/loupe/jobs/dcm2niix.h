/* dcm2niix, confined: the worker's launcher for the converter that turns a
 * checked, de-identified DICOM series (loupe/volume/dicom.h, written by
 * loupe-decoder) into one NIfTI file, which loupe-decoder then reads like
 * any NIfTI upload.
 *
 * The decoder's sandbox forbids exec, so dcm2niix runs as a child of the
 * worker instead, started with exec and confined before it: a new process
 * group; death with the calling thread (PR_SET_PDEATHSIG); no new
 * privileges; a new network namespace when the kernel lets us create one
 * (unprivileged user namespaces or root); Landlock (loupe/core/landlock.h,
 * where the kernel has it): it may run its program and read the system's
 * programs and libraries, read in_dir and write out_dir, and touch no other
 * file; and always a seccomp filter that refuses socket() and socketpair()
 * (EACCES), ptrace and execveat; rlimits:
 * address space (memory_bytes), CPU seconds (the deadline's, plus one), the
 * size of a written file (file_bytes), 64 descriptors, no core; an empty
 * environment but PATH; stdin /dev/null, stdout and stderr into log_path;
 * no other descriptor; its working directory out_dir. Its input directory
 * holds only files the decoder wrote. At deadline_ms the process group is
 * killed.
 *
 * Never pass it an original upload: only what lp_dicom_deidentify wrote. */
#ifndef LOUPE_JOBS_DCM2NIIX_H
#define LOUPE_JOBS_DCM2NIIX_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

typedef struct lp_dcm2niix_spec {
    const char *program;  /* absolute path (lp_dcm2niix_find) */
    const char *in_dir;   /* the de-identified series */
    const char *out_dir;  /* existing, empty: receives volume.nii */
    const char *log_path; /* receives its stdout and stderr */
    int64_t memory_bytes; /* RLIMIT_AS; 0 = none */
    int64_t file_bytes;   /* RLIMIT_FSIZE; 0 = none */
    int64_t deadline_ms;  /* lp_now_mono_ms() time */
} lp_dcm2niix_spec;

typedef enum lp_dcm2niix_end {
    LP_DCM2NIIX_EXITED = 0, /* status: its exit status */
    LP_DCM2NIIX_SIGNALED,   /* status: the signal that ended it (not ours) */
    LP_DCM2NIIX_TIMED_OUT   /* killed at the deadline */
} lp_dcm2niix_end;

typedef struct lp_dcm2niix_result {
    lp_dcm2niix_end end;
    int status;
    int64_t elapsed_ms;
} lp_dcm2niix_result;

/* The executable named by name (dicom_converter): a path containing '/' as
 * is, else the first of /usr/local/bin, /usr/bin and /bin holding it, into
 * out. 0, or -1 with err (LP_E_UNAVAILABLE) naming where it looked. */
int lp_dcm2niix_find(const char *name, char *out, size_t cap, lp_error *err);

/* Runs dcm2niix on spec (borrowed) and waits for it. 0 when it ran, however
 * it ended (out), or -1 with err when it could not be started. */
int lp_dcm2niix_run(const lp_dcm2niix_spec *spec, lp_dcm2niix_result *out, lp_error *err);

#endif
