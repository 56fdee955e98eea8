/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * metrics.c - counters for /metrics (Prometheus text format 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/).
 */
#include "app.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "http/http.h"

/* The statuses refx sends; anything else counts as "other". */
static const int statuses[] = { 200, 201, 204, 206, 207, 301, 302, 303, 304,
    400, 401, 403, 404, 405, 409, 412, 413, 415, 416, 423, 429, 431, 500,
    501, 503, 507 };
#define NSTATUS	(sizeof(statuses) / sizeof(statuses[0]) + 1)

/* Latency buckets, upper bounds in microseconds. */
static const int64_t bounds_us[] = { 1000, 2500, 5000, 10000, 20000, 50000,
    100000, 250000, 500000, 1000000, 2500000, 10000000 };
#define NBUCKET	(sizeof(bounds_us) / sizeof(bounds_us[0]))

struct route_stats {
	_Atomic uint64_t	 status[NSTATUS];
	_Atomic uint64_t	 bucket[NBUCKET];	/* not cumulative */
	_Atomic uint64_t	 count, dur_us, db_us;
};

static const struct route	*table;
static size_t			 nroutes;
static struct route_stats	*stats;		/* nroutes + 1: unmatched */
static _Atomic int		 busy;
static int			 nthreads;

int
metrics_init(const struct route *routes, size_t n, int threads)
{
	table = routes;
	nroutes = n;
	nthreads = threads;
	stats = calloc(n + 1, sizeof(*stats));
	return stats == NULL ? -1 : 0;
}

void
metrics_request(const struct route *rt, int status, int64_t dur_us,
    int64_t db_us)
{
	struct route_stats	*s;
	size_t			 i, k;

	if (stats == NULL)
		return;
	i = rt != NULL && rt >= table && rt < table + nroutes ?
	    (size_t)(rt - table) : nroutes;
	s = &stats[i];
	for (k = 0; k < NSTATUS - 1 && statuses[k] != status; k++)
		;
	atomic_fetch_add_explicit(&s->status[k], 1, memory_order_relaxed);
	for (k = 0; k < NBUCKET && dur_us > bounds_us[k]; k++)
		;
	if (k < NBUCKET)
		atomic_fetch_add_explicit(&s->bucket[k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->dur_us, (uint64_t)(dur_us > 0 ? dur_us :
	    0), memory_order_relaxed);
	atomic_fetch_add_explicit(&s->db_us, (uint64_t)(db_us > 0 ? db_us : 0),
	    memory_order_relaxed);
}

void
metrics_busy(int delta)
{
	atomic_fetch_add_explicit(&busy, delta, memory_order_relaxed);
}

/* The route label: the pattern as the access log writes it. */
static void
route_label(struct buf *b, size_t i)
{
	const char	*p;

	if (i == nroutes) {
		buf_adds(b, "(none)");
		return;
	}
	if (table[i].kind == ROUTE_OCS)
		buf_adds(b, "/ocs/v{1,2}.php");
	/* label values escape \, " and newline; patterns have none of
	   them but the rule is kept */
	for (p = table[i].pattern; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_addc(b, '\\');
		buf_addc(b, *p == '\n' ? 'n' : *p);
	}
}

static uint64_t
get(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Resident set size in bytes from /proc/self/statm, or 0. */
static long long
rss_bytes(void)
{
	FILE		*f = fopen("/proc/self/statm", "r");
	long long	 size = 0, rss = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lld %lld", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static bool
loopback(const char *addr)
{
	unsigned char	 a[16];

	if (addr == NULL)
		return false;
	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, addr, a) != 1)
		return false;
	/* ::1, or ::ffff:127.x.y.z */
	return (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0) ||
	    (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
	    a[12] == 127);
}

/*
 * GET /metrics - the counters of this worker process.  Loopback only: the
 * nginx location allows 127.0.0.1 alone, and the worker checks the
 * address nginx connected from (REMOTE_ADDR) again; anything else is 404.
 */
int
h_metrics(struct ctx *c)
{
	struct buf	 b;
	long		 pid = (long)getpid();
	int		 e;

	if (!loopback(http_env(c, "REMOTE_ADDR")))
		return err_set(c, ERR_NOTFOUND, "Not found", NULL);
	buf_init(&b, c->arena, 8 * 1024 * 1024);
	buf_adds(&b, "# HELP refx_http_requests_total Requests by route pattern "
	    "and HTTP status.\n# TYPE refx_http_requests_total counter\n");
	for (size_t i = 0; i <= nroutes; i++)
		for (size_t k = 0; k < NSTATUS; k++) {
			uint64_t	 n = get(&stats[i].status[k]);

			if (n == 0)
				continue;
			buf_printf(&b, "refx_http_requests_total{worker=\"%ld\","
			    "route=\"", pid);
			route_label(&b, i);
			if (k < NSTATUS - 1)
				buf_printf(&b, "\",status=\"%d\"} %llu\n",
				    statuses[k], (unsigned long long)n);
			else
				buf_printf(&b, "\",status=\"other\"} %llu\n",
				    (unsigned long long)n);
		}
	buf_adds(&b, "# HELP refx_http_request_duration_seconds Time from the "
	    "request's start to its last byte, by route pattern.\n"
	    "# TYPE refx_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= nroutes; i++) {
		uint64_t	 count = get(&stats[i].count), cum = 0;

		if (count == 0)
			continue;
		for (size_t k = 0; k < NBUCKET; k++) {
			cum += get(&stats[i].bucket[k]);
			buf_printf(&b, "refx_http_request_duration_seconds_bucket"
			    "{worker=\"%ld\",route=\"", pid);
			route_label(&b, i);
			buf_printf(&b, "\",le=\"%g\"} %llu\n", (double)bounds_us[k] /
			    1e6, (unsigned long long)cum);
		}
		buf_printf(&b, "refx_http_request_duration_seconds_bucket{worker="
		    "\"%ld\",route=\"", pid);
		route_label(&b, i);
		buf_printf(&b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
		buf_printf(&b, "refx_http_request_duration_seconds_sum{worker="
		    "\"%ld\",route=\"", pid);
		route_label(&b, i);
		buf_printf(&b, "\"} %.6f\n", (double)get(&stats[i].dur_us) / 1e6);
		buf_printf(&b, "refx_http_request_duration_seconds_count{worker="
		    "\"%ld\",route=\"", pid);
		route_label(&b, i);
		buf_printf(&b, "\"} %llu\n", (unsigned long long)count);
	}
	buf_adds(&b, "# HELP refx_db_time_seconds_total Time spent waiting for "
	    "PostgreSQL, by route pattern.\n# TYPE refx_db_time_seconds_total "
	    "counter\n");
	for (size_t i = 0; i <= nroutes; i++) {
		if (get(&stats[i].count) == 0)
			continue;
		buf_printf(&b, "refx_db_time_seconds_total{worker=\"%ld\",route=\"",
		    pid);
		route_label(&b, i);
		buf_printf(&b, "\"} %.6f\n", (double)get(&stats[i].db_us) / 1e6);
	}
	buf_printf(&b, "# HELP refx_worker_threads Request threads of this worker."
	    "\n# TYPE refx_worker_threads gauge\n"
	    "refx_worker_threads{worker=\"%ld\",state=\"busy\"} %d\n"
	    "refx_worker_threads{worker=\"%ld\",state=\"total\"} %d\n"
	    "# HELP refx_process_resident_memory_bytes Resident set size.\n"
	    "# TYPE refx_process_resident_memory_bytes gauge\n"
	    "refx_process_resident_memory_bytes{worker=\"%ld\"} %lld\n", pid,
	    atomic_load_explicit(&busy, memory_order_relaxed), pid, nthreads,
	    pid, rss_bytes());
	{
		/* glibc's heap: what is in use against what it keeps free
		   (fragmentation) and what is mapped for large blocks */
		struct mallinfo2	 mi = mallinfo2();

		buf_printf(&b, "# HELP refx_heap_bytes The C heap (glibc "
		    "mallinfo2): in_use, free (kept by the allocator), mmap "
		    "(large blocks).\n# TYPE refx_heap_bytes gauge\n"
		    "refx_heap_bytes{worker=\"%ld\",kind=\"in_use\"} %zu\n"
		    "refx_heap_bytes{worker=\"%ld\",kind=\"free\"} %zu\n"
		    "refx_heap_bytes{worker=\"%ld\",kind=\"mmap\"} %zu\n",
		    pid, mi.uordblks, pid, mi.fordblks, pid, mi.hblkhd);
	}
	if (!buf_ok(&b))
		return err_set(c, ERR_INTERNAL, NULL, "metrics too large");
	http_res_status(c, 200);
	(void)http_res_header(c, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	(void)http_res_header(c, "Cache-Control", "no-store");
	if ((e = http_res_stream_begin(c)) != ERR_OK || c->req->method ==
	    HTTP_HEAD)
		return e;
	return http_res_write(c, b.p, b.n);
}
