/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* lib/report: the KVNR check digit (GKV-Spitzenverband, Krankenversichertennummer). */
#include "testutil.h"

#include "report/report.h"

static void
test_kvnr_valid(void **state)
{
	(void)state;
	/* A = 01: 0 1 1 2 3 4 5 6 7 8 weighted 1-2-1-2..., cross sums 40 -> 0 */
	assert_true(report_kvnr_valid("A123456780"));
	/* Z = 26: 2 6 0 0 0 0 0 0 0 0 -> 2 + 12 (=3) = 5 */
	assert_true(report_kvnr_valid("Z000000005"));
	/* every letter has exactly one valid check digit */
	for (char l = 'A'; l <= 'Z'; l++) {
		int	 valid = 0;
		char	 k[11];

		for (char d = '0'; d <= '9'; d++) {
			snprintf(k, sizeof(k), "%c12345678%c", l, d);
			valid += report_kvnr_valid(k);
		}
		assert_int_equal(valid, 1);
	}
}

static void
test_kvnr_invalid(void **state)
{
	(void)state;
	assert_false(report_kvnr_valid("A123456781"));	/* wrong check digit */
	assert_false(report_kvnr_valid("A12345678"));	/* too short */
	assert_false(report_kvnr_valid("A1234567801"));	/* too long */
	assert_false(report_kvnr_valid("a123456780"));	/* lower case */
	assert_false(report_kvnr_valid("1123456780"));	/* no letter */
	assert_false(report_kvnr_valid("A12345678O"));	/* letter O, not zero */
	assert_false(report_kvnr_valid("A12 456780"));
	assert_false(report_kvnr_valid(""));
	assert_false(report_kvnr_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvnr_valid),
		cmocka_unit_test(test_kvnr_invalid),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
