/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * routes.c - the one route table: the table of contents of refx's HTTP
 * surface.  OCS patterns are relative to /ocs/v1.php and /ocs/v2.php.
 */
#include "app.h"

#include "http/http.h"

#define GET_HEAD	(HTTP_GET | HTTP_HEAD)

const struct route app_routes[] = {
	/* Nextcloud discovery (nextcloud-api.md §2) */
	{ GET_HEAD, ROUTE_PLAIN, "/status.php", h_status_get, AUTH_PUBLIC, 0,
	    ROUTE_NO_SCHEMA },
	{ GET_HEAD, ROUTE_OCS, "/cloud/capabilities", h_ocs_capabilities,
	    AUTH_PUBLIC, 0, 0 },

	/* Test-only routes: invisible unless [testing] routes = 1. */
	{ HTTP_GET, ROUTE_OCS, "/apps/refx_testing/error/{kind}",
	    h_testing_error, AUTH_PUBLIC, 0, ROUTE_TESTING },
	{ HTTP_GET, ROUTE_OCS, "/apps/refx_testing/sleep/{ms}",
	    h_testing_sleep, AUTH_PUBLIC, 0, ROUTE_TESTING },
	{ HTTP_GET, ROUTE_OCS, "/apps/refx_testing/worker", h_testing_worker,
	    AUTH_PUBLIC, 0, ROUTE_TESTING },
	{ HTTP_POST, ROUTE_OCS, "/apps/refx_testing/echo", h_testing_echo,
	    AUTH_PUBLIC, 1024, ROUTE_TESTING | ROUTE_TX },
};

const size_t app_nroutes = sizeof(app_routes) / sizeof(app_routes[0]);
