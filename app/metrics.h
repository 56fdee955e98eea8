/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * metrics - the worker's Prometheus counters (text exposition format
 * 0.0.4): requests by route pattern and status, a latency histogram and
 * database time per route, busy and total threads, resident memory.  Per
 * worker process (label worker = pid): nginx spreads scrapes over the
 * workers, so scrape each worker's socket or sum over the label.  Lock-free
 * (C11 relaxed atomics); fixed memory sized by the route table at start.
 */
#ifndef APP_METRICS_H
#define APP_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct ctx;
struct route;

/*
 * metrics_init - size the counters for routes[0..n) (the route table,
 * which must outlive the process) and the thread count.  Call once before
 * the threads start.  Returns 0, or -1 when out of memory.
 */
int metrics_init(const struct route *routes, size_t n, int threads);

/*
 * metrics_request - count one finished request: rt (NULL when no route
 * matched), the HTTP status sent, its duration and database time in
 * microseconds.
 */
void metrics_request(const struct route *rt, int status, int64_t dur_us,
    int64_t db_us);

/* metrics_busy - a thread starts (+1) or ends (-1) handling a request. */
void metrics_busy(int delta);

#endif
