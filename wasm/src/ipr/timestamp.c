/* time::OffsetDateTime in bincode: the 9-tuple (year i32, ordinal u16,
 * hour u8, minute u8, second u8, nanosecond u32, offset hours, minutes and
 * seconds i8), checked as the time crate (0.3.41, no large dates) checks
 * it when it deserializes. */
#include "ipr/bincode.h"

#define MAX_YEAR 9999
#define MAX_OFFSET_HOURS 25
#define SECONDS_PER_DAY 86400
#define NANOS_PER_SECOND 1000000000u

static bool is_leap_year(int32_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

bool ipr_timestamp_valid(const ipr_timestamp *t)
{
    /* mixed offset signs are fine: time flips the smaller components */
    return t->year >= -MAX_YEAR && t->year <= MAX_YEAR && t->ordinal >= 1 &&
           t->ordinal <= (is_leap_year(t->year) ? 366 : 365) && t->hour < 24 && t->minute < 60 && t->second < 60 &&
           t->nanosecond < NANOS_PER_SECOND && t->offset_hours >= -MAX_OFFSET_HOURS &&
           t->offset_hours <= MAX_OFFSET_HOURS && t->offset_minutes >= -59 && t->offset_minutes <= 59 &&
           t->offset_seconds >= -59 && t->offset_seconds <= 59;
}

bool ipr_timestamp_from_unix(ipr_timestamp *t, int64_t seconds, uint32_t nanosecond)
{
    /* 0001-01-01 and 9999-12-31 bound the Gregorian years we can give;
     * negative years are not needed for "now" */
    const int64_t first = -62135596800, last = 253402300799;
    if (seconds < first || seconds > last || nanosecond >= NANOS_PER_SECOND) return false;
    int64_t days = seconds / SECONDS_PER_DAY, second_of_day = seconds % SECONDS_PER_DAY;
    if (second_of_day < 0) {
        second_of_day += SECONDS_PER_DAY;
        days--;
    }
    /* counted in 400-year eras from 0000-03-01, so that the leap day ends
     * each year (H. Hinnant's civil_from_days); never negative from year 1 */
    days += 719468;
    int64_t era = days / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_from_march = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int32_t year = (int32_t)(year_of_era + era * 400);
    int32_t ordinal;
    if (day_from_march >= 306) { /* January or February of the next year */
        year++;
        ordinal = (int32_t)(day_from_march - 306 + 1);
    } else {
        ordinal = (int32_t)(day_from_march + 60 + (is_leap_year(year) ? 1 : 0));
    }
    *t = (ipr_timestamp){
        .year = year,
        .ordinal = (uint16_t)ordinal,
        .hour = (uint8_t)(second_of_day / 3600),
        .minute = (uint8_t)(second_of_day / 60 % 60),
        .second = (uint8_t)(second_of_day % 60),
        .nanosecond = nanosecond,
    };
    return true;
}

void ipr_read_timestamp(ipr_reader *r, ipr_timestamp *t)
{
    t->year = ipr_read_i32(r);
    t->ordinal = (uint16_t)ipr_read_varint(r, UINT16_MAX);
    t->hour = ipr_read_u8(r);
    t->minute = ipr_read_u8(r);
    t->second = ipr_read_u8(r);
    t->nanosecond = (uint32_t)ipr_read_varint(r, UINT32_MAX);
    t->offset_hours = (int8_t)ipr_read_u8(r);
    t->offset_minutes = (int8_t)ipr_read_u8(r);
    t->offset_seconds = (int8_t)ipr_read_u8(r);
    if (r->error == IPR_OK && !ipr_timestamp_valid(t)) ipr_reader_fail(r, IPR_ERR_TIMESTAMP);
}

void ipr_write_timestamp(ipr_writer *w, const ipr_timestamp *t)
{
    if (!ipr_timestamp_valid(t)) ipr_writer_fail(w, IPR_ERR_TIMESTAMP);
    ipr_write_i32(w, t->year);
    ipr_write_varint(w, t->ordinal);
    ipr_write_u8(w, t->hour);
    ipr_write_u8(w, t->minute);
    ipr_write_u8(w, t->second);
    ipr_write_varint(w, t->nanosecond);
    ipr_write_u8(w, (uint8_t)t->offset_hours);
    ipr_write_u8(w, (uint8_t)t->offset_minutes);
    ipr_write_u8(w, (uint8_t)t->offset_seconds);
}
