/*
 * mc_shard.h: the partial-moments file of `sus mc --out FILE` (one shard of
 * a campaign), read back by `sus report --merge`.
 *
 * Format: the text line "sus-mc-shard 1", then "key value" lines naming the
 * campaign (workload, workload seed, c as a C99 hexadecimal float, rule,
 * impl, total samples, first seed, this shard's first sample and count, and
 * the accumulator layout), the line "data", then a .npy image (float64, 1-D)
 * of the accumulators. Written atomically (temporary file, then rename).
 */
#ifndef SUS_TOOLS_MC_SHARD_H
#define SUS_TOOLS_MC_SHARD_H

#include "mc.h"

typedef struct sus_mc_campaign {
    char workload[32];
    uint64_t wseed;
    double c;
    char rule[32];
    char impl[8];
    int64_t samples; /* of the whole campaign */
    uint64_t seed0;  /* sample s uses seed seed0 + s */
    int64_t first, count;
} sus_mc_campaign;

int sus_mc_shard_write(const char *path, const sus_mc_campaign *cp,
                       const sus_mc_acc *acc, sus_error *err);
/* Before any sampling: path is not a directory and its directory exists
 * and is writable (else SUS_ERR_INVAL, bad input). */
int sus_mc_shard_check_path(const char *path, sus_error *err);
/* Reads a shard; acc is allocated with the file's layout. */
int sus_mc_shard_read(const char *path, sus_mc_campaign *cp, sus_mc_acc *acc,
                      sus_error *err);

#endif
