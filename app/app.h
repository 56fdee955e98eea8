/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * app.h - the worker's route table and handlers.  Handlers parse, call the
 * domain layer and render; authorization, CSRF, body limits and
 * transactions are enforced by the dispatcher from the route table.
 */
#ifndef APP_APP_H
#define APP_APP_H

#include <stddef.h>

#include "router/router.h"

struct ctx;
struct FCGX_Request;

extern const struct route app_routes[];
extern const size_t app_nroutes;

/*
 * app_dispatch - serve one request: parse, route, gate, run the handler,
 * render errors, send the response, write the access log line.
 */
void app_dispatch(struct ctx *c, struct FCGX_Request *r);

/* h_status.c */
int h_status_get(struct ctx *c);

/* h_testing.c: test-only routes, served with [testing] routes = 1 */
int h_testing_error(struct ctx *c);
int h_testing_sleep(struct ctx *c);
int h_testing_worker(struct ctx *c);
int h_testing_echo(struct ctx *c);

/* h_ocs_caps.c */
int h_ocs_capabilities(struct ctx *c);

#endif
