#!/bin/sh
# A tiny adjust driver in sh, for agg tests. It is copied into adjust.d/
# under several names; what it does is driven by files in $AGG_TEST_DIR:
#   <name>.info    --info answer   (default: {"version":"sh 1.0","has_cancel":false})
#   <name>.query   --query answer  (default: component web, setting <name>_size)
#   <name>.result  adjust result line (default: ok); <name>.rc its exit code
#   <name>.sleep   seconds to sleep during adjust
# It records its stdin in <name>.in and its environment in <name>.env.
name="${OPTUNE_DRIVER_NAME:-$(basename "$0")}"
d="$AGG_TEST_DIR"
case "$1" in
  --info)
    if [ -f "$d/$name.info" ]; then cat "$d/$name.info"; else echo '{"version":"sh 1.0","has_cancel":false}'; fi
    exit 0 ;;
  --query|--describe)
    if [ -f "$d/$name.query" ]; then cat "$d/$name.query"; else
      printf '{"application":{"components":{"web":{"settings":{"%s_size":{"type":"range","min":1,"max":8,"step":1,"value":2}}}}}}\n' "$name"
    fi
    exit 0 ;;
esac
cat > "$d/$name.in"
echo "OPTUNE_DRIVER_NAME=$OPTUNE_DRIVER_NAME OPTUNE_IO_TIMEOUT=$OPTUNE_IO_TIMEOUT" > "$d/$name.env"
echo '{"progress": 50, "message": "half way"}'
if [ -f "$d/$name.sleep" ]; then sleep "$(cat "$d/$name.sleep")"; fi
echo "adjusted $name" >&2
if [ -f "$d/$name.result" ]; then cat "$d/$name.result"; else echo '{"status": "ok", "reason": "success"}'; fi
exit "$(cat "$d/$name.rc" 2>/dev/null || echo 0)"
