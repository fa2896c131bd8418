/*
 * smmu_budget.c - the mapping budget.
 *
 * Linux allows a process vm.max_map_count VMAs and each host call on a window may split
 * one.  sm.vma_est counts 2 per call (smmu_map.c charges it, win_empty gives back what a
 * window was charged), an upper bound.  When it passes the budget, the real count is read
 * from /proc/self/maps; while that is above 7/8 of the budget, the least recently used
 * paging windows that hold mappings are emptied.  The current window goes last and keeps
 * its identity (directory, view, tracing of the directory), so it simply refills; a
 * released PV directory's window is let go instead.  Eviction never fails: the worst
 * case is that every window refills on demand.
 *
 * Callers: enforce_budget before anything that maps (fills, PV window builds, the end of
 * a PV batch); smmu_budget / smmu_set_budget from the monitor's options (and tests).
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "smmu_int.h"

static uint64_t count_vmas(void)
{
	static char buf[65536];
	uint64_t n = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sm.vma_est;
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (ssize_t i = 0; i < k; i++)
			n += buf[i] == '\n';
	}
	close(fd);
	return n;
}

void enforce_budget(void)
{
	if (sm.vma_est < sm.budget)
		return;
	smmu_stats.budget_recounts++;
	sm.vma_est = count_vmas();
	while (sm.vma_est >= sm.budget * 7 / 8) {
		/* retired windows first (smmu.c), then the least recently used */
		struct window *lru = NULL;
		for (unsigned i = 1; i <= SMMU_WINDOWS; i++) {
			struct window *w = &sm.win[i];
			if ((w->kind != W_PAGED && w->kind != W_RETIRED) || !w->vmas)
				continue;
			if (!lru || (w->kind == W_RETIRED) > (lru->kind == W_RETIRED) ||
			    ((w->kind == W_RETIRED) == (lru->kind == W_RETIRED) && w->last_use < lru->last_use))
				lru = w;
		}
		if (!lru)
			break;
		/* the current window goes last, and keeps its identity (it refills) */
		if (lru == sm.cur) {
			for (unsigned i = 1; i <= SMMU_WINDOWS; i++)
				if (&sm.win[i] != sm.cur && sm.win[i].kind == W_PAGED && sm.win[i].vmas) {
					lru = &sm.win[i];
					break;
				}
		}
		gpa_t pd = lru->pd;
		bool user = lru->user, was_cur = lru == sm.cur && !lru->released;
		if (lru == sm.cur && !was_cur)
			sm.cur = NULL;                 /* a released directory: let it go */
		win_empty(lru);
		smmu_stats.budget_evictions++;
		if (was_cur) {
			lru->kind = W_PAGED;
			lru->pd = pd;
			lru->user = user;
			if (sm.pv)
				pu_add(pd, lru, PD_USE);
		}
		sm.vma_est = count_vmas();
	}
}

uint64_t smmu_budget(void) { return sm.budget; }
void smmu_set_budget(uint64_t vmas) { sm.budget = vmas; }

static uint64_t read_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned long long v = 65530;
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 65530;
		fclose(f);
	}
	return v;
}

/* The default budget: vm.max_map_count less a margin for the rest of the monitor. */
void budget_init(void)
{
	uint64_t max = read_max_map_count();
	sm.budget = max > 16384 ? max - 8192 : max / 2;
}
