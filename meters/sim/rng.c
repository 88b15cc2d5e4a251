/*
 * rng.c: deterministic randomness without state in globals.  Noise is a pure function of a
 * seed and a time, so any process can recompute the ground truth the simulator served.
 */
#include <math.h>

#include "meters/sim/sim-private.h"

uint64_t sim_mix64(uint64_t x)
{
    /* SplitMix64 finaliser; the constants are the published ones (Steele et al., 2014). */
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

uint64_t sim_next64(uint64_t *state)
{
    /* A counter through the finaliser: each state value gives one well-mixed output. */
    return sim_mix64((*state)++);
}

double sim_unit(uint64_t x)
{
    return (double)(x >> 11) * 0x1.0p-53;
}

double sim_gauss(uint64_t seed, int64_t key)
{
    uint64_t h = sim_mix64(seed ^ sim_mix64((uint64_t)key));
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u1 = 1.0 - sim_unit(h);
    double u2 = sim_unit(sim_mix64(h));
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint32_t sim_fnv1a(const char *s, uint32_t h)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u; /* FNV-1a 32-bit prime (Fowler, Noll, Vo) */
    return h;
}
